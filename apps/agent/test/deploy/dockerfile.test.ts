/**
 * The agent's image cannot be built here (no Docker daemon), so what can go wrong without a build
 * is checked on the files: every copied path exists and passes the ignore file, every workspace
 * the agent imports at run time is copied, and the entrypoint is the agent's bin.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { repoRoot } from "./render";

const dockerfilePath = path.join(repoRoot, "apps/agent/Dockerfile");
const ignorePath = path.join(repoRoot, "apps/agent/Dockerfile.dockerignore");
const workdir = "/opt/stowage";

interface Instruction {
  keyword: string;
  rest: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), rest: rest.join(" ") };
    });
}

const dockerfile = instructions(fs.readFileSync(dockerfilePath, "utf8"));
/** Sources of the COPY instructions that read the build context (not another stage). */
const copiedFromContext = dockerfile
  .filter((i) => i.keyword === "COPY" && !i.rest.startsWith("--from="))
  .flatMap((i) => i.rest.split(/\s+/).slice(0, -1));
const admitted = fs
  .readFileSync(ignorePath, "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l.startsWith("!"))
  .map((l) => l.slice(1));

const packageSchema = z.object({
  name: z.string(),
  bin: z.record(z.string(), z.string()).optional(),
  dependencies: z.record(z.string(), z.string()).optional(),
});
const readPackage = (dir: string): z.infer<typeof packageSchema> => packageSchema.parse(JSON.parse(fs.readFileSync(path.join(repoRoot, dir, "package.json"), "utf8")));

/** Workspace directories by package name (the root package.json's apps/* and packages/*). */
function workspaces(): Map<string, string> {
  const dirs = ["apps", "packages"].flatMap((parent) =>
    fs
      .readdirSync(path.join(repoRoot, parent))
      .map((d) => `${parent}/${d}`)
      .filter((d) => fs.existsSync(path.join(repoRoot, d, "package.json"))),
  );
  return new Map(dirs.map((d) => [readPackage(d).name, d]));
}

/** The agent and every workspace its run-time dependencies reach. */
function runtimeWorkspaces(): string[] {
  const byName = workspaces();
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(readPackage(dir).dependencies ?? {})) {
      const depDir = byName.get(dep);
      if (depDir !== undefined) visit(depDir);
    }
  };
  visit("apps/agent");
  return [...seen];
}

describe("apps/agent/Dockerfile", () => {
  it("builds on node:20-bookworm-slim", () => {
    expect(dockerfile.find((i) => i.keyword === "ARG" && i.rest.startsWith("NODE_IMAGE="))?.rest).toBe("NODE_IMAGE=node:20-bookworm-slim");
    for (const from of dockerfile.filter((i) => i.keyword === "FROM")) expect(from.rest).toMatch(/^\$\{NODE_IMAGE\}/);
  });

  it("copies only paths that exist and that the ignore file lets into the context", () => {
    expect(copiedFromContext.length).toBeGreaterThan(0);
    for (const source of copiedFromContext) {
      expect(fs.existsSync(path.join(repoRoot, source)), `${source} exists`).toBe(true);
      expect(
        admitted.some((a) => source === a || source.startsWith(`${a}/`)),
        `${source} is admitted by Dockerfile.dockerignore`,
      ).toBe(true);
    }
  });

  it("copies the manifest and the source of every workspace the agent runs", () => {
    const needed = runtimeWorkspaces();
    expect(needed).toEqual(expect.arrayContaining(["apps/agent", "packages/engine", "packages/supervisor"]));
    for (const dir of needed) {
      expect(copiedFromContext, dir).toContain(`${dir}/package.json`);
      expect(copiedFromContext, dir).toContain(`${dir}/src`);
    }
    // tsx reads each workspace's tsconfig, and those extend the shared config package.
    for (const tsconfig of copiedFromContext.filter((s) => s.endsWith("/tsconfig.json"))) {
      // tsconfig files are JSON with comments; ours have whole-line ones only.
      const text = fs.readFileSync(path.join(repoRoot, tsconfig), "utf8").replace(/^\s*\/\/.*$/gm, "");
      const extended = z.object({ extends: z.string() }).parse(JSON.parse(text)).extends;
      const [, pkg = "", file = ""] = /^(@stowage\/[^/]+)\/(.+)$/.exec(extended) ?? [];
      const dir = workspaces().get(pkg);
      expect(dir, `${tsconfig} extends ${extended}`).toBeDefined();
      expect(copiedFromContext).toContain(`${dir ?? ""}/${file}`);
    }
  });

  it("installs only the agent's production dependencies", () => {
    const install = dockerfile.find((i) => i.keyword === "RUN" && i.rest.startsWith("npm ci"))?.rest ?? "";
    expect(install).toContain("-w @stowage/agent");
    expect(install).toContain("--omit=dev");
  });

  it("enters through the agent package's stowage-agent bin", () => {
    const bin = readPackage("apps/agent").bin?.["stowage-agent"];
    expect(bin).toBeDefined();
    const binPath = path.posix.join("apps/agent", bin ?? "");
    const link = dockerfile.find((i) => i.keyword === "RUN" && i.rest.startsWith("ln -s"))?.rest.split(/\s+/) ?? [];
    expect(link.slice(2)).toEqual([`${workdir}/${binPath}`, "/usr/local/bin/stowage-agent"]);
    const file = path.join(repoRoot, binPath);
    expect(fs.statSync(file).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(file, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const entrypoint = z.array(z.string()).parse(JSON.parse(dockerfile.find((i) => i.keyword === "ENTRYPOINT")?.rest ?? "null"));
    expect(entrypoint.at(-1)).toBe("stowage-agent");
  });

  it("bakes in no secrets: no secret-looking build arguments or environment", () => {
    for (const i of dockerfile.filter((x) => x.keyword === "ARG" || x.keyword === "ENV")) expect(i.rest).not.toMatch(/TOKEN|SECRET|PASSWORD|KEY/i);
    expect(copiedFromContext.some((s) => /(^|\/)\.env|\.pem$|\.data/.test(s))).toBe(false);
  });
});
