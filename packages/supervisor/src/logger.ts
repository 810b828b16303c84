/**
 * What the supervisor logs through: the shape of pino's `info`/`warn`, so an
 * agent passes its pino logger as is and a launcher passes an adapter of its own.
 */
export interface SupervisorLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export const silentLogger: SupervisorLogger = {
  info: () => undefined,
  warn: () => undefined,
};
