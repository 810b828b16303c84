import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChildService, exitCode } from "./child";
import { runToCompletion } from "./run";

const node = process.execPath;
const children: ChildService[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop(1_000)));
});

function child(opts: Omit<ConstructorParameters<typeof ChildService>[0], "command">): ChildService {
  const c = new ChildService({ command: node, ...opts });
  children.push(c);
  return c;
}

describe("ChildService", () => {
  it("is ready at the line it waits for and keeps that line", async () => {
    const c = child({ name: "ready-line", args: ["-e", "console.log('booting'); setTimeout(() => console.log('{\"event\":\"ready\",\"port\":7}'), 50); setInterval(() => {}, 1000)"], output: "ignore", readyLine: (l) => l.startsWith('{"event":"ready"') });
    await c.start();
    expect(c.running).toBe(true);
    expect(JSON.parse(c.readyLine ?? "{}")).toMatchObject({ port: 7 });
  });

  it("fails to start when the child exits before it is ready, naming its last output", async () => {
    const c = child({ name: "dies", args: ["-e", "console.error('no config'); process.exit(3)"], output: "ignore", readyLine: () => false });
    await expect(c.start()).rejects.toThrow(/dies exited \(3\) before it was ready[\s\S]*no config/);
    expect(exitCode(await c.exited)).toBe(3);
  });

  it("is ready once the predicate answers true", async () => {
    const flag = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stowage-supervisor-")), "up");
    const c = child({ name: "predicate", args: ["-e", `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(flag)}, ''), 100); setInterval(() => {}, 1000)`], output: "ignore", ready: async () => fs.existsSync(flag), readyIntervalMs: 20 });
    await c.start();
    expect(fs.existsSync(flag)).toBe(true);
  });

  it("SIGKILLs a child that ignores SIGTERM once the stop timeout passes", async () => {
    const c = child({ name: "stubborn", args: ["-e", "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"], output: "ignore", readyLine: (l) => l === "up" });
    await c.start();
    const t = Date.now();
    await c.stop(200);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect((await c.exited).signal).toBe("SIGKILL");
    expect(exitCode(await c.exited)).toBe(137);
  });

  it("reports an exit it did not cause, and not one it did", async () => {
    const exits: boolean[] = [];
    const c = child({ name: "exits", args: ["-e", "console.log('up'); setTimeout(() => process.exit(0), 50)"], output: "ignore", readyLine: (l) => l === "up", onExit: (_, expected) => exits.push(expected) });
    await c.start();
    await c.exited;
    const d = child({ name: "stopped", args: ["-e", "console.log('up'); setInterval(() => {}, 1000)"], output: "ignore", readyLine: (l) => l === "up", onExit: (_, expected) => exits.push(expected) });
    await d.start();
    await d.stop();
    expect(exits).toEqual([false, true]);
  });

  it("appends both streams to its log file", async () => {
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stowage-supervisor-")), "logs", "c.log");
    const c = child({ name: "logged", args: ["-e", "console.log('out'); console.error('err')"], output: { logFile } });
    c.spawn();
    await c.exited;
    await expect.poll(() => fs.readFileSync(logFile, "utf8").split("\n").sort().join(",")).toBe(",err,out");
  });

  it("waits for a line printed after the wait begins, on either stream", async () => {
    const c = child({ name: "lines", args: ["-e", "setTimeout(() => console.error('listening on 9'), 50); setInterval(() => {}, 1000)"], output: "ignore" });
    c.spawn();
    await expect(c.waitForLine((l) => l.startsWith("listening"), 5_000)).resolves.toBe("listening on 9");
  });

  it("stops a detached child's whole process group", async () => {
    const c = child({ name: "group", args: ["-e", "require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log('up'); setInterval(() => {}, 1000)"], output: "ignore", detached: true, readyLine: (l) => l === "up" });
    await c.start();
    expect(c.groupAlive()).toBe(true);
    await c.stop();
    await expect.poll(() => c.groupAlive()).toBe(false);
  });
});

describe("runToCompletion", () => {
  it("resolves with the captured output and rejects naming the exit code", async () => {
    await expect(runToCompletion(node, ["-e", "console.log('hi')"], { output: "capture" })).resolves.toBe("hi\n");
    await expect(runToCompletion(node, ["-e", "console.log('bad'); process.exit(4)"], { output: "capture" })).rejects.toThrow(/exited with 4:\nbad/);
  });
});
