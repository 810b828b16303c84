import { pino, type Logger } from "pino";

export type { Logger };

/**
 * The API's root logger. Secrets never reach a log line by construction (we
 * log ids, not tokens); the redact list is a second line of defence for
 * headers and bodies someone might log while debugging.
 */
export function createLogger(opts: { level?: string } = {}): Logger {
  return pino({
    name: "stowage-api",
    level: opts.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        "headers.authorization",
        "headers.cookie",
        "*.secret",
        "*.password",
        "*.token",
        "*.joinToken",
        "*.credential",
      ],
      censor: "[redacted]",
    },
  });
}
