/**
 * stowage-kube-apiserver: runs the server until SIGINT/SIGTERM and prints one JSON ready line on stdout
 * (`{"event":"ready","url":…,"kubeconfig":…}`). Bad flags print one line and the usage, exit 2.
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { startKubeApiServer } from "../kube-apiserver";

const usage = "usage: stowage-kube-apiserver --etcd URL --token-file FILE [--listen HOST:PORT] [--cert-dir DIR] [--kubeconfig-out FILE] [--prefix /registry] [--insecure-http]";

/** Token-file lines as kube-apiserver's static token file: token,user,uid[,"group1,group2"]. */
const tokenLine = z.string().transform((line, ctx) => {
  const m = /^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/.exec(line.trim());
  if (m === null) {
    ctx.addIssue({ code: "custom", message: "token file: a line is not token,user,uid[,\"groups\"]" });
    return z.NEVER;
  }
  return { token: m[1] ?? "", user: m[2] ?? "", groups: (m[4] ?? "").split(",").filter((g) => g !== "") };
});

function fail(message: string): never {
  process.stderr.write(`stowage-kube-apiserver: ${message}\n${usage}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      strict: true,
      allowPositionals: false,
      options: {
        etcd: { type: "string" },
        listen: { type: "string", default: "127.0.0.1:0" },
        "token-file": { type: "string" },
        "cert-dir": { type: "string" },
        "kubeconfig-out": { type: "string" },
        prefix: { type: "string", default: "/registry" },
        "insecure-http": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    return fail(err instanceof Error ? err.message : "bad arguments");
  }
}

function readTokens(file: string): string[] {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  } catch (err) {
    return fail(`cannot read --token-file: ${err instanceof Error ? err.message : "unreadable"}`);
  }
}

async function main(): Promise<void> {
  const values = parse();
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (values.etcd === undefined) fail("--etcd is required");
  const tokenFile = values["token-file"];
  if (tokenFile === undefined) fail("--token-file is required");
  const listen = /^(.+):(\d+)$/.exec(values.listen);
  if (listen === null) fail(`--listen must be HOST:PORT, got ${values.listen}`);
  const tokens = z.array(tokenLine).min(1, "token file: no tokens").safeParse(readTokens(tokenFile));
  if (!tokens.success) fail(tokens.error.issues[0]?.message ?? "bad token file");
  const certDir = values["cert-dir"];
  const server = await startKubeApiServer({
    etcd: values.etcd,
    prefix: values.prefix,
    host: listen[1] ?? "127.0.0.1",
    port: Number(listen[2]),
    tokens: tokens.data,
    tls: !values["insecure-http"],
    ...(certDir !== undefined ? { certDir } : {}),
  });
  const kubeconfigOut = values["kubeconfig-out"];
  const first = tokens.data[0];
  if (kubeconfigOut !== undefined && first !== undefined) server.writeKubeconfig(kubeconfigOut, first.token);
  process.stdout.write(`${JSON.stringify({ event: "ready", url: server.url, ...(kubeconfigOut !== undefined ? { kubeconfig: kubeconfigOut } : {}) })}\n`);
  const shutdown = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

await main();
