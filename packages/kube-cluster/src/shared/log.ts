/** The one log shape of every component here: a level, a constant message, data in fields. */
export type LogLevel = "info" | "warn" | "error";
export type Log = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

/**
 * The warn-only object the sidecars and the kubelet once took. Still accepted at their option
 * boundary so the local fleet keeps working while it moves to the function form.
 */
export interface WarnOnlyLog {
  warn(message: string, fields: Record<string, unknown>): void;
}

export const silentLog: Log = () => undefined;

/** The function form of whatever a caller passed (warn-only objects drop info lines, as before). */
export function asLog(log: Log | WarnOnlyLog | undefined): Log {
  if (log === undefined) return silentLog;
  if (typeof log === "function") return log;
  return (level, message, fields) => {
    if (level !== "info") log.warn(message, fields);
  };
}
