import { spawn } from "node:child_process";
import path from "node:path";
import { writeFile } from "node:fs/promises";
import { describe, expect, it, afterAll, beforeAll } from "vitest";
import { BIN, ENGINE_ROOT, run, startNode, type RunningNode } from "../../test/interop/harness";
import { DEFAULT_ADMIN, parseHostPort, parseSize, UsageError } from "./args";
import { commands, runCli } from "./run";
import type { CliContext } from "./context";

function capture(env: NodeJS.ProcessEnv = {}): { ctx: CliContext; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    ctx: {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env,
      waitForStop: () => new Promise<string>(() => undefined),
    },
    out: () => out,
    err: () => err,
  };
}

describe("argument parsing", () => {
  it("parses sizes in binary and decimal units", () => {
    expect(parseSize("1GiB", "--size")).toBe(2 ** 30);
    expect(parseSize("512MiB", "--size")).toBe(512 * 2 ** 20);
    expect(parseSize("10G", "--size")).toBe(10 * 2 ** 30);
    expect(parseSize("1GB", "--size")).toBe(1e9);
    expect(parseSize("4096", "--size")).toBe(4096);
    for (const bad of ["", "1XB", "-5M", "0", "1.5"]) expect(() => parseSize(bad, "--size")).toThrow(UsageError);
  });

  it("parses HOST:PORT including bracketed IPv6", () => {
    expect(parseHostPort("127.0.0.1:10809", "--nbd")).toEqual({ host: "127.0.0.1", port: 10809 });
    expect(parseHostPort("[::1]:0", "--nbd")).toEqual({ host: "::1", port: 0 });
    for (const bad of ["localhost", ":80", "host:99999", "a:b"]) expect(() => parseHostPort(bad, "--nbd")).toThrow(UsageError);
  });
});

describe("help", () => {
  it("prints the command list", async () => {
    const c = capture();
    expect(await runCli(["--help"], c.ctx)).toBe(0);
    for (const command of commands) expect(c.out()).toContain(command.name);
  });

  it.each(["serve", "volume", "snapshot", "scrub", "status"])("'%s --help' prints that command's usage and exits 0", async (name) => {
    const c = capture();
    expect(await runCli([name, "--help"], c.ctx)).toBe(0);
    expect(c.out()).toContain(`Usage: stowage-engine ${name}`);
    expect(c.err()).toBe("");
  });

  it("shows subcommand help too", async () => {
    const c = capture();
    expect(await runCli(["volume", "create", "--help"], c.ctx)).toBe(0);
    expect(c.out()).toContain("volume create NAME --size SIZE");
  });
});

describe("bad arguments", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["no command", [], /missing command/],
    ["unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
    ["serve without a pool", ["serve", "--nbd", "127.0.0.1:0"], /needs --pool/],
    ["serve on a public address", ["serve", "--pool", "/tmp/x", "--nbd", "0.0.0.0:10809"], /loopback/],
    ["serve with an unknown option", ["serve", "--pool", "/tmp/x", "--nbd", "127.0.0.1:0", "--turbo"], /Unknown option '--turbo'/],
    ["volume without subcommand", ["volume"], /needs a subcommand/],
    ["volume create without size", ["volume", "create", "v1"], /needs --size/],
    ["volume create with a bad size", ["volume", "create", "v1", "--size", "lots"], /expects a size/],
    ["volume create with an unaligned size", ["volume", "create", "v1", "--size", "1000"], /multiple of 4KiB/],
    ["volume create with a bad name", ["volume", "create", "Bad_Name!", "--size", "1GiB"], /invalid volume name/],
    ["encrypt without a key file", ["volume", "create", "v1", "--size", "1GiB", "--encrypt"], /--encrypt needs --key-file/],
    ["snapshot create with one name", ["snapshot", "create", "v1"], /takes VOLUME NAME/],
    ["scrub with a bad admin address", ["scrub", "--admin", "nowhere"], /--admin expects HOST:PORT/],
    ["cluster volume expand without size", ["cluster", "volume", "expand", "v1"], /expand needs --size/],
    ["cluster volume expand with an unaligned size", ["cluster", "volume", "expand", "v1", "--size", "1000"], /multiple of 4KiB/],
    ["a restore source without the snapshot", ["cluster", "volume", "create", "v2", "--size", "1GiB", "--replicas", "3", "--from-snapshot", "v1"], /--from-snapshot expects VOLUME\/SNAPSHOT/],
    ["a restore source with a bad snapshot name", ["cluster", "volume", "create", "v2", "--size", "1GiB", "--replicas", "3", "--from-snapshot", "v1/Bad_Snap"], /invalid snapshot name/],
    ["two sources", ["cluster", "volume", "create", "v2", "--size", "1GiB", "--replicas", "3", "--from-snapshot", "v1/s1", "--from-volume", "v1"], /not both/],
  ];
  it.each(cases)("%s: one line on stderr, exit 2", async (_label, argv, message) => {
    const c = capture();
    expect(await runCli(argv, c.ctx)).toBe(2);
    expect(c.err()).toMatch(message);
    expect(c.err().trimEnd().split("\n")).toHaveLength(1);
    expect(c.out()).toBe("");
  });

  it("reports an unreachable node in one line with exit 1", async () => {
    const c = capture();
    expect(await runCli(["volume", "list", "--admin", "127.0.0.1:1"], c.ctx)).toBe(1);
    expect(c.err()).toMatch(/cannot reach the node admin endpoint at 127.0.0.1:1/);
    expect(c.err().trimEnd().split("\n")).toHaveLength(1);
  });

  it("the real binary exits non-zero with a single line for a bad argument", async () => {
    const r = await run(process.execPath, [BIN, "volume", "create", "v1", "--size", "nope"], { allowFailure: true });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^stowage-engine: volume: --size expects a size/)]);
  });
});

describe("an unknown flag, in every command line of the package", () => {
  const noStack = (stderr: string) => expect(stderr.split("\n").filter((l) => /^\s+at /.test(l))).toEqual([]);

  it("stowage-engine: exit 2, the usage pointer on stderr, no stack", async () => {
    const r = await run(process.execPath, [BIN, "volume", "list", "--bogus"], { allowFailure: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^stowage-engine: volume: Unknown option '--bogus' \(see 'stowage-engine volume --help'\)\n$/);
    noStack(r.stderr);
  });

  // What `npm run chaos -- --json` and the benchmarks run.
  it.each([
    ["bench/chaos.ts", "Usage: npm run chaos"],
    ["bench/engine.ts", "Usage: npm run bench:engine"],
    ["bench/replication.ts", "Usage: npm run bench:replication"],
    ["bench/xts.ts", "Usage: npm run bench:xts"],
    ["bench/nbd-file-server.ts", "Usage: nbd-file-server.ts"],
  ])("%s: exit 2, the message and a usage line on stderr, no stack", async (script, usageLine) => {
    const r = await run(process.execPath, [path.join(ENGINE_ROOT, "bin/tsx-run.mjs"), path.join(ENGINE_ROOT, script), "--json", "--bogus"], { allowFailure: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/: Unknown option '--(json|bogus)'\n/);
    expect(r.stderr.split("\n").filter((l) => l.startsWith(usageLine))).toHaveLength(1);
    noStack(r.stderr);
    expect(r.stdout).toBe("");
  });

  it("a bad value in a benchmark is a usage error too", async () => {
    const r = await run(process.execPath, [path.join(ENGINE_ROOT, "bin/tsx-run.mjs"), path.join(ENGINE_ROOT, "bench/chaos.ts"), "--cycles", "many"], { allowFailure: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chaos: --cycles must be a positive integer, got 'many'\nUsage: npm run chaos/);
    noStack(r.stderr);
  });
});

describe("against a running node", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  // The real binary for creation; the rest in-process (same code path after argv) to keep the suite quick.
  const binary = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, STOWAGE_ENGINE_ADMIN: node.admin }, allowFailure: true });
  const cli = async (...args: string[]) => {
    const c = capture({ STOWAGE_ENGINE_ADMIN: node.admin });
    const code = await runCli(args, c.ctx);
    return { code, stdout: c.out(), stderr: c.err() };
  };

  it("creates, lists, snapshots and deletes against the node", async () => {
    const created = await binary("volume", "create", "flow", "--size", "64MiB");
    expect(created).toMatchObject({ code: 0, stdout: "created volume flow (64MiB)\n" });

    const listed = await cli("volume", "list", "--json");
    expect(listed.code).toBe(0);
    const volumes = JSON.parse(listed.stdout) as Array<{ name: string; size: number }>;
    expect(volumes.find((v) => v.name === "flow")?.size).toBe(64 * 1024 * 1024);

    const table = await cli("volume", "list");
    expect(table.stdout).toMatch(/^NAME\s+SIZE/);
    expect(table.stdout).toMatch(/^flow\s+64MiB/m);

    const duplicate = await cli("volume", "create", "flow", "--size", "64MiB");
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/already exists/);

    expect((await cli("snapshot", "create", "flow", "s1")).stdout).toBe("created snapshot flow@s1\n");
    const snaps = JSON.parse((await cli("snapshot", "list", "flow", "--json")).stdout) as Array<{ name: string }>;
    expect(snaps.map((s) => s.name)).toEqual(["s1"]);

    const scrub = await cli("scrub", "flow", "--json");
    expect(scrub.code).toBe(0);
    expect(JSON.parse(scrub.stdout)).toMatchObject({ volumes: 1, errors: 0 });

    const status = JSON.parse((await cli("status", "--json")).stdout) as { nbd: { exports: string[] } };
    expect(status.nbd.exports).toContain("flow");

    expect((await cli("snapshot", "delete", "flow", "s1")).code).toBe(0);
    expect(JSON.parse((await cli("snapshot", "list", "flow", "--json")).stdout)).toEqual([]);
    expect((await binary("volume", "delete", "flow")).stdout).toBe("deleted volume flow\n");

    const gone = await cli("volume", "delete", "flow");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/not found/);
    expect((await node.client.status()).nbd.exports).not.toContain("flow");
  });

  it("opens the admin endpoint where the other commands look by default, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--pool", `${node.dir}/other`, "--socket", `${node.dir}/other.sock`], { cwd: ENGINE_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const ready = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
    expect(JSON.parse(ready)).toMatchObject({ event: "ready", admin: DEFAULT_ADMIN });
    const c = capture();
    expect(await runCli(["status", "--json"], c.ctx)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ pool: { path: `${node.dir}/other` } });
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
  });

  it("with STOWAGE_EXIT_WITH_PARENT=1 stops cleanly when its parent's end of stdin closes", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--pool", `${node.dir}/orphan`, "--socket", `${node.dir}/orphan.sock`, "--admin", "127.0.0.1:0"], {
      cwd: ENGINE_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, STOWAGE_EXIT_WITH_PARENT: "1" },
    });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    // What the kernel does to the pipe when the parent dies.
    child.stdin.end();
    expect(await exited).toBe(0);
  });

  it("creates an encrypted volume with a key file", async () => {
    const keyFile = `${node.dir}/cli-kek.hex`;
    await writeFile(keyFile, `${"ab".repeat(16)}${"cd".repeat(16)}\n`, { mode: 0o600 });
    const created = await cli("volume", "create", "secret", "--size", "8MiB", "--encrypt", "--key-file", keyFile, "--json");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "secret", encrypted: true });
    const missing = await cli("volume", "create", "secret2", "--size", "8MiB", "--encrypt", "--key-file", `${node.dir}/none`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/key file .* cannot be read/);
  });
});
