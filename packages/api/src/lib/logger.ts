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

/**
 * What a service call knows of the request it serves. `log` is the request's
 * logger (request id, caller and organization bound); it is absent when no
 * request is being served: startup, background jobs, fixtures.
 */
export interface RequestScoped {
  log?: Logger | undefined;
}

/**
 * The logger a service logs a call through: the request's, with the service
 * named, so every line of the call carries the request id; the service's own
 * logger outside a request.
 */
export function callLog(own: Logger, service: string, scoped: RequestScoped | undefined): Logger {
  return scoped?.log ? scoped.log.child({ service }) : own;
}
