import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WorkloadWriters } from "./workload-writers";

const pod: V1Pod = { metadata: { namespace: "shop", name: "db-0", uid: "u-1" } };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("workload writers", () => {
  it("append a line to each mounted file system at once, leave a raw block volume alone, and stop only after the write under way", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "writers-"));
    dirs.push(dir);
    const data = path.join(dir, "data");
    fs.mkdirSync(data);
    const device = path.join(dir, "block");
    fs.writeFileSync(device, "");
    const writers = new WorkloadWriters(pino({ level: "silent" }));
    writers.start(pod, [
      { volumeName: "data", path: data },
      { volumeName: "raw", path: device },
    ]);
    // The first write starts at once, off the event loop: this test's own code keeps running.
    const journal = path.join(data, "journal.log");
    const line = await pollUntil(() => (fs.existsSync(journal) ? fs.readFileSync(journal, "utf8") : undefined), { what: "the first journal line", timeoutMs: 10_000, intervalMs: 10 });
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z shop\/db-0\n$/);
    expect(fs.readFileSync(device, "utf8")).toBe("");
    await writers.stop(pod);
    // Stopped: the directory can go at once, as an unmount would follow.
    fs.rmSync(data, { recursive: true });
    expect(fs.existsSync(data)).toBe(false);
  });
});
