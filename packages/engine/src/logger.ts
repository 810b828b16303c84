/**
 * JSON-lines logger with pino's call shape (`log.info({ fields }, "message")`),
 * so the engine needs no logging dependency and the agent can hand in pino.
 * Messages are constant; data goes in fields.
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: object): Logger;
}

export function createLogger(opts: { level?: Level; bindings?: object; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? "info"];
  const bindings = opts.bindings ?? {};
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: Level, obj: object, msg: string): void => {
    if (ORDER[level] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...bindings, ...obj })}\n`);
  };
  return {
    debug: (obj, msg) => emit("debug", obj, msg),
    info: (obj, msg) => emit("info", obj, msg),
    warn: (obj, msg) => emit("warn", obj, msg),
    error: (obj, msg) => emit("error", obj, msg),
    child: (more) => createLogger({ ...opts, bindings: { ...bindings, ...more } }),
  };
}
