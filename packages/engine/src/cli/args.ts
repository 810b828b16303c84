/** Argument helpers shared by the CLI commands. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import path from "node:path";
import { parseAdminEndpoint, type AdminClientOptions } from "../admin/client";
import { readAdminClientTls } from "../cluster/certs";
import type { HostPort } from "../node/node";

/** A mistake in how the command was called: one line on stderr, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where `serve` opens the admin endpoint and every other command looks for it, unless told otherwise. */
export const DEFAULT_ADMIN = "127.0.0.1:9809";
export const ADMIN_ENV = "STOWAGE_ENGINE_ADMIN";
/** Directory of ca.pem, admin.pem and admin-key.pem for an `https://` admin endpoint ('stowage-engine cert admin'). */
export const ADMIN_TLS_DIR_ENV = "STOWAGE_ENGINE_ADMIN_TLS_DIR";

/** The flags of every command that talks to the admin API. */
export const adminFlags = {
  admin: { type: "string" },
  "admin-cert-dir": { type: "string" },
} as const;

export const adminFlagsUsage = `  --admin ENDPOINT    HOST:PORT (loopback) or https://HOST:PORT (default: $${ADMIN_ENV} or ${DEFAULT_ADMIN})
  --admin-cert-dir DIR
                      for https: ca.pem, admin.pem, admin-key.pem (default: $${ADMIN_TLS_DIR_ENV})`;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs in strict mode, with its errors turned into one-line usage errors. */
export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs messages are multi-line on some versions; keep the first line, without the advice on positionals.
    const message = err instanceof Error ? (err.message.split("\n")[0] ?? err.message).replace(/\. To specify a positional argument.*$/, "") : String(err);
    throw new UsageError(message);
  }
}

export interface ScriptSpec<O extends Options> {
  /** How the script is run, for messages: "npm run chaos --". */
  name: string;
  /** The usage text, printed with --help and after a mistake. */
  usage: string;
  options: O;
  /** Whether the script takes arguments besides its options. */
  positionals?: boolean;
}

/**
 * Command line of a script (benchmarks, chaos runs): parsed strictly, then
 * turned into settings by `settings`. A mistake in either (an unknown flag, a
 * bad value: a UsageError) prints one line and the usage on stderr and exits
 * with status 2, without a stack trace; --help prints the usage and exits 0.
 */
export function scriptArgs<O extends Options, T>(spec: ScriptSpec<O>, settings: (parsed: ReturnType<typeof parse<O>>) => T, argv = process.argv.slice(2)): T {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${spec.usage}\n`);
    process.exit(0);
  }
  try {
    const parsed = parse(argv, spec.options);
    if (!spec.positionals && parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0] ?? ""}'`);
    return settings(parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message}\n${spec.usage}\n`);
    process.exit(2);
  }
}

/** Parses HOST:PORT (or [v6]:PORT). Port 0 means "any free port". */
export function parseHostPort(value: string, flag: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || !Number.isInteger(port) || port > 65535) throw new UsageError(`${flag} expects HOST:PORT, got '${value}'`);
  return { host, port };
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function requireLoopback(address: HostPort, flag: string): void {
  if (!LOOPBACK.has(address.host) && !address.host.startsWith("127.")) {
    throw new UsageError(`${flag} must be a loopback address (127.0.0.1, ::1 or localhost), got '${address.host}'`);
  }
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Parses a whole number of at least 1 (counts, seconds). */
export function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** Parses sizes like 4096, 512MiB, 1GiB, 10G (binary), 1GB (decimal). */
export function parseSize(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = UNITS[(match?.[2] ?? "").toLowerCase()];
  if (!match || unit === undefined) throw new UsageError(`${flag} expects a size such as 1GiB, 512MiB or 4096, got '${value}'`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`${flag} must be a positive whole number of bytes, got '${value}'`);
  return bytes;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)}${units[i] ?? "B"}`;
}

/** Where the admin-using commands connect: --admin, else $STOWAGE_ENGINE_ADMIN, else the default. */
export function adminAddress(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const value = flag ?? env[ADMIN_ENV] ?? DEFAULT_ADMIN;
  try {
    parseAdminEndpoint(value);
  } catch {
    throw new UsageError(`--admin expects HOST:PORT or https://HOST:PORT, got '${value}'`);
  }
  return value;
}

/**
 * Endpoint and client options from --admin and --admin-cert-dir (or their environment
 * variables): an `https://` endpoint needs the directory of the admin certificate.
 */
export async function adminArgs(values: { admin?: string | undefined; "admin-cert-dir"?: string | undefined }, env: NodeJS.ProcessEnv): Promise<[endpoint: string, options: AdminClientOptions]> {
  const endpoint = adminAddress(values.admin, env);
  if (!parseAdminEndpoint(endpoint).secure) return [endpoint, {}];
  const dir = values["admin-cert-dir"] ?? env[ADMIN_TLS_DIR_ENV];
  if (dir === undefined || dir === "") throw new UsageError(`--admin ${endpoint} needs --admin-cert-dir DIR (or $${ADMIN_TLS_DIR_ENV}): ca.pem, admin.pem, admin-key.pem`);
  return [endpoint, { tls: await readAdminClientTls(path.resolve(dir)) }];
}

/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
