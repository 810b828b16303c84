import path from "node:path";
import { createLogger, type Level } from "../../logger";
import { processGc } from "../../metrics/gc-stats";
import { sizeHeapForStreams } from "../../node/heap";
import { openBackend } from "../../node/open-backend";
import { StowageNode } from "../../node/node";
import { serveCluster } from "./cluster-serve";
import { DEFAULT_ADMIN, parse, parseHostPort, requireLoopback, UsageError } from "../args";
import { wantsHelp, type Command } from "../context";

const usage = `Usage: stowage-engine serve --pool DIR --nbd HOST:PORT [--socket PATH] [--admin HOST:PORT] [--log-level LEVEL]

Runs a node: opens the pool in DIR and serves each volume as an NBD export
named after the volume.

Options:
  --pool DIR           pool directory (created if missing)
  --nbd HOST:PORT      NBD listener on TCP (loopback only; port 0 picks a free port)
  --socket PATH        NBD listener on a Unix socket
  --admin HOST:PORT    admin endpoint (loopback only; default: ${DEFAULT_ADMIN}, where the other commands look)
  --log-level LEVEL    debug, info, warn or error (default: info)
  -h, --help           show this help

When listening, prints one JSON line to stdout:
  {"event":"ready","nbd":"HOST:PORT","socket":"PATH","admin":"HOST:PORT"}
Stops cleanly on SIGINT or SIGTERM.

With --etcd URL the node runs in cluster mode (replicated volumes);
see 'stowage-engine serve --etcd - --help'.`;

const LEVELS = new Set(["debug", "info", "warn", "error"]);

export const serveCommand: Command = {
  name: "serve",
  summary: "run a node serving a pool over NBD",
  usage,
  async run(args, ctx) {
    if (!wantsHelp(args)) {
      sizeHeapForStreams();
      processGc.start();
    }
    // --etcd switches to cluster mode, which has its own options (see cluster-serve.ts).
    if (args.some((a) => a === "--etcd" || a.startsWith("--etcd="))) return serveCluster(args, ctx);
    if (wantsHelp(args)) {
      ctx.stdout(`${usage}\n`);
      return 0;
    }
    const { values, positionals } = parse(args, {
      pool: { type: "string" },
      nbd: { type: "string" },
      socket: { type: "string" },
      admin: { type: "string" },
      "log-level": { type: "string" },
    });
    if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got '${positionals.join(" ")}'`);
    if (values.pool === undefined) throw new UsageError("serve needs --pool DIR");
    if (values.nbd === undefined && values.socket === undefined) throw new UsageError("serve needs --nbd HOST:PORT or --socket PATH");
    const nbd = values.nbd === undefined ? undefined : parseHostPort(values.nbd, "--nbd");
    if (nbd) requireLoopback(nbd, "--nbd");
    const admin = parseHostPort(values.admin ?? DEFAULT_ADMIN, "--admin");
    requireLoopback(admin, "--admin");
    const level = values["log-level"] ?? "info";
    if (!LEVELS.has(level)) throw new UsageError(`--log-level must be debug, info, warn or error, got '${level}'`);

    const logger = createLogger({ level: level as Level, write: ctx.stderr });
    // Listen for signals before anything starts, so a stop request during startup isn't lost.
    const stop = ctx.waitForStop();
    const node = await StowageNode.start({
      backend: await openBackend(path.resolve(values.pool)),
      ...(nbd ? { nbd } : {}),
      ...(values.socket === undefined ? {} : { socket: path.resolve(values.socket) }),
      admin,
      logger,
    });
    ctx.stdout(`${JSON.stringify({ event: "ready", ...node.addresses })}\n`);
    const signal = await stop;
    logger.info({ signal }, "node stopping");
    await node.close();
    logger.info({}, "node stopped");
    return 0;
  },
};
