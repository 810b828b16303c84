/**
 * Interop with real NBD clients (qemu-io, qemu-img, nbdinfo, nbdcopy, fio's
 * nbd engine, nbdkit's nbd plugin) against a real `stowage-engine serve`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTools, run, startNode, type RunningNode } from "./harness";

const MiB = 1024 * 1024;
let node: RunningNode;

beforeAll(async () => {
  requireTools("qemu-io", "qemu-img", "nbdinfo", "nbdcopy", "fio", "nbdkit");
  node = await startNode();
});

afterAll(async () => {
  await node?.stop();
});

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function randomFile(file: string, size: number): Promise<void> {
  const fh = await open(file, "w");
  try {
    for (let pos = 0; pos < size; pos += 16 * MiB) await fh.write(randomBytes(Math.min(16 * MiB, size - pos)), 0, undefined, pos);
  } finally {
    await fh.close();
  }
}

interface NbdInfoExport {
  "export-name": string;
  "export-size": number;
  can_flush: boolean;
  can_fua: boolean;
  can_trim: boolean;
  can_zero: boolean;
  can_multi_conn: boolean;
  is_read_only: boolean;
  block_size_minimum: number;
  block_size_preferred: number;
  block_size_maximum: number;
  contexts?: string[];
}

async function nbdinfo(uri: string, ...flags: string[]): Promise<{ structured: boolean; exports: NbdInfoExport[] }> {
  const { stdout } = await run("nbdinfo", ["--json", ...flags, uri]);
  return JSON.parse(stdout) as { structured: boolean; exports: NbdInfoExport[] };
}

describe("nbdinfo", () => {
  it("reports the size, transmission flags and block sizes over TCP and the Unix socket", async () => {
    await node.client.createVolume({ name: "info", size: 96 * MiB });
    for (const uri of [node.unixUri("info"), node.tcpUri("info")]) {
      const info = await nbdinfo(uri);
      expect(info.structured).toBe(true);
      const e = info.exports[0];
      expect(e?.["export-name"]).toBe("info");
      expect(e?.["export-size"]).toBe(96 * MiB);
      expect(e).toMatchObject({ can_flush: true, can_fua: true, can_trim: true, can_zero: true, can_multi_conn: true, is_read_only: false });
      expect([e?.block_size_minimum, e?.block_size_preferred, e?.block_size_maximum]).toEqual([4096, 4096, 32 * MiB]);
      expect(e?.contexts).toContain("base:allocation");
    }
  });

  it("lists every volume as an export", async () => {
    await node.client.createVolume({ name: "listed-a", size: 4 * MiB });
    await node.client.createVolume({ name: "listed-b", size: 8 * MiB });
    const info = await nbdinfo(node.unixUri(""), "--list");
    const byName = new Map(info.exports.map((e) => [e["export-name"], e["export-size"]]));
    expect(byName.get("listed-a")).toBe(4 * MiB);
    expect(byName.get("listed-b")).toBe(8 * MiB);
  });

  it("maps the export with base:allocation, written data reported as data", async () => {
    await node.client.createVolume({ name: "mapped", size: 64 * MiB });
    await run("qemu-io", ["-f", "raw", node.unixUri("mapped"), "-c", "write -P 0x5a 8M 4M"]);
    const { stdout } = await run("nbdinfo", ["--map", "--json", node.unixUri("mapped")]);
    const extents = JSON.parse(stdout) as Array<{ offset: number; length: number; type: number }>;
    expect(extents.reduce((n, e) => n + e.length, 0)).toBe(64 * MiB);
    const covering = extents.filter((e) => e.offset < 12 * MiB && e.offset + e.length > 8 * MiB);
    expect(covering.length).toBeGreaterThan(0);
    // type bit 0 = hole: the written range must never be reported as a hole.
    expect(covering.every((e) => (e.type & 1) === 0)).toBe(true);
    // Volumes are thin: the never-written tail is reported as a hole that reads as zeroes (hole|zero = 3).
    const tail = extents.filter((e) => e.offset + e.length > 16 * MiB);
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.every((e) => e.type === 3)).toBe(true);
    const head = extents.find((e) => e.offset === 0);
    expect(head?.type).toBe(3);
  });
});

describe("qemu-io", () => {
  it("writes patterns and reads them back, aligned and unaligned, over both transports", async () => {
    await node.client.createVolume({ name: "qemu", size: 64 * MiB });
    for (const uri of [node.unixUri("qemu"), node.tcpUri("qemu")]) {
      const { stdout } = await run("qemu-io", [
        "-f",
        "raw",
        uri,
        "-c",
        "write -P 0xab 0 1M",
        "-c",
        "write -P 0xcd 1000 3000",
        "-c",
        "write -z 2M 1M",
        "-c",
        "write -P 0xef -f 63M 1M",
        "-c",
        "flush",
        "-c",
        "read -P 0xab 0 1000",
        "-c",
        "read -P 0xcd 1000 3000",
        "-c",
        "read -P 0xab 4000 1044576",
        "-c",
        "read -P 0 2M 1M",
        "-c",
        "read -P 0xef 63M 1M",
      ]);
      expect(stdout).not.toMatch(/Pattern verification failed|error/i);
      expect(stdout.match(/^read /gm)?.length).toBe(5);
    }
    // A separate process sees the data, so it really reached the volume.
    const check = await run("qemu-io", ["-f", "raw", node.unixUri("qemu"), "-c", "read -P 0xcd 1000 3000"], { allowFailure: true });
    expect(check.stdout).toContain("read 3000/3000");
    expect(check.stdout).not.toContain("Pattern verification failed");
    const wrong = await run("qemu-io", ["-f", "raw", node.unixUri("qemu"), "-c", "read -P 0x00 1000 3000"], { allowFailure: true });
    expect(wrong.stdout).toContain("Pattern verification failed");
  });

  it("gets an error, not a hang, for a read past the end", async () => {
    await node.client.createVolume({ name: "edge", size: 4 * MiB });
    const r = await run("qemu-io", ["-f", "raw", node.unixUri("edge"), "-c", "read 4M 4096"], { allowFailure: true });
    expect(`${r.stdout}${r.stderr}`).toMatch(/Input\/output error|Invalid argument|out of range|beyond/i);
  });
});

describe("nbdcopy", () => {
  const size = 256 * MiB;
  let source: string;
  let sourceHash: string;

  beforeAll(async () => {
    source = path.join(node.dir, "source.bin");
    await randomFile(source, size);
    sourceHash = await sha256(source);
  });

  async function roundTrip(name: string): Promise<void> {
    const back = path.join(node.dir, `${name}.back`);
    await run("nbdcopy", [source, node.unixUri(name)]);
    await run("nbdcopy", [node.tcpUri(name), back]);
    expect((await stat(back)).size).toBe(size);
    expect(await sha256(back)).toBe(sourceHash);
  }

  it("round-trips a 256 MiB random file with an identical sha256", async () => {
    await node.client.createVolume({ name: "copy", size });
    await roundTrip("copy");
  });

  it("round-trips through an encrypted volume, which stores no plaintext", async () => {
    const keyFile = path.join(node.dir, "kek.hex");
    await writeFile(keyFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    const volume = await node.client.createVolume({ name: "sealed", size, encryption: { keyFile } });
    expect(volume.encrypted).toBe(true);
    await roundTrip("sealed");
    // A 4 KiB block of the source must not appear anywhere in the volume's files (the pool layout
    // keeps a directory per volume; the plain volume above legitimately holds the same data).
    const needle = (await readFile(source)).subarray(64 * MiB, 64 * MiB + 4096);
    const files = (await readdir(path.join(node.pool, "volumes", "sealed"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const content = await readFile(path.join(f.parentPath, f.name));
      expect(content.indexOf(needle), f.name).toBe(-1);
    }
  });
});

describe("qemu-img", () => {
  it("converts a raw image onto a volume and compares equal", async () => {
    await node.client.createVolume({ name: "img", size: 32 * MiB });
    const image = path.join(node.dir, "image.raw");
    await randomFile(image, 32 * MiB);
    await run("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", image, node.unixUri("img")]);
    const cmp = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", image, node.unixUri("img")]);
    expect(cmp.stdout).toContain("Images are identical");
  });
});

describe("fio nbd engine", () => {
  it("passes a crc32c-verified random write workload at QD32", async () => {
    await node.client.createVolume({ name: "fio", size: 128 * MiB });
    const { stdout } = await run("fio", [
      "--name=verify",
      "--ioengine=nbd",
      `--uri=${node.unixUri("fio")}`,
      "--rw=randwrite",
      "--bs=4k",
      "--iodepth=32",
      "--size=64M",
      "--verify=crc32c",
      "--verify_fatal=1",
      "--do_verify=1",
      // fio otherwise drops a verify-state file into the working directory.
      "--verify_state_save=0",
      "--output-format=json",
    ]);
    const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as { jobs: Array<{ error: number; write: { io_bytes: number }; read: { io_bytes: number } }> };
    const job = report.jobs[0];
    expect(job?.error).toBe(0);
    expect(job?.write.io_bytes).toBe(64 * MiB);
    // The verify pass reads everything back.
    expect(job?.read.io_bytes).toBe(64 * MiB);
  });
});

describe("nbdkit nbd plugin", () => {
  it("proxies to the node and preserves data both ways", async () => {
    await node.client.createVolume({ name: "proxied", size: 16 * MiB });
    await run("qemu-io", ["-f", "raw", node.unixUri("proxied"), "-c", "write -P 0x42 4M 1M"]);
    const proxy = path.join(node.dir, "proxy.sock");
    // nbdkit runs qemu-io as its captive client (--run) and exits with its status.
    const { stdout } = await run("nbdkit", [
      "-U",
      proxy,
      "nbd",
      `socket=${node.socket}`,
      "export=proxied",
      "--run",
      `qemu-io -f raw 'nbd+unix:///?socket=${proxy}' -c 'read -P 0x42 4M 1M' -c 'write -P 0x43 0 4096'`,
    ]);
    expect(stdout).toContain("read 1048576/1048576");
    const direct = await run("qemu-io", ["-f", "raw", node.unixUri("proxied"), "-c", "read -P 0x43 0 4096"]);
    expect(direct.stdout).not.toContain("Pattern verification failed");
  });
});
