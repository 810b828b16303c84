#!/usr/bin/env node
// `npm test`: lint, typecheck, every workspace's vitest suite, the system
// suites (real processes), then the Playwright suite. Suites run one after
// another: on a 2-core machine running them side by side only makes each
// slower and flakier. Ends with the line "N passed, N failed" summed over
// every check and test.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";

const root = path.resolve(import.meta.dirname, "..", "..", "..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-test-"));
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const only = process.argv.slice(2);
// Nothing here may phone home: CI machines have no network beyond package registries.
process.env.TURBO_TELEMETRY_DISABLED = "1";
process.env.NEXT_TELEMETRY_DISABLED = "1";
process.env.DO_NOT_TRACK = "1";

let passed = 0;
let failed = 0;
const failures = [];
// Names of failed tests, repeated at the end: CI shows only the tail of the output.
const failedTests = [];

function run(label, cmd, args, opts = {}) {
  process.stdout.write(`\n=== ${label}\n`);
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts, env: { ...process.env, ...opts.env } });
  return r.status === 0;
}

function workspaces() {
  const dirs = [];
  for (const pattern of rootPkg.workspaces) {
    if (pattern.endsWith("/*")) {
      const base = path.join(root, pattern.slice(0, -2));
      for (const d of fs.readdirSync(base).sort()) dirs.push(path.join(base, d));
    } else dirs.push(path.join(root, pattern));
  }
  return dirs
    .filter((d) => fs.existsSync(path.join(d, "package.json")))
    .map((dir) => ({ dir, pkg: JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) }));
}

function check(label, ok) {
  if (ok) passed += 1;
  else {
    failed += 1;
    failures.push(label);
  }
}

const want = (step) => only.length === 0 || only.includes(step);

if (want("lint")) {
  check("versions", run("version drift", process.execPath, [path.join(import.meta.dirname, "check-versions.mjs")]));
  check("cycles", run("import cycles", process.execPath, [path.join(import.meta.dirname, "check-cycles.mjs")]));
  check("lint", run("lint", "npx", ["turbo", "run", "lint", "--continue", "--output-logs=errors-only"]));
}
if (want("typecheck"))
  check("typecheck", run("typecheck", "npx", ["turbo", "run", "typecheck", "--continue", "--output-logs=errors-only"]));

/** One vitest run in a workspace, its tests counted from the JSON report. */
function vitest(label, dir, reportName, extraArgs) {
  const report = path.join(out, `${reportName}.json`);
  const ok = run(label, "npx", ["vitest", "run", ...extraArgs, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], { cwd: dir });
  if (fs.existsSync(report)) {
    const r = JSON.parse(fs.readFileSync(report, "utf8"));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    if ((r.numFailedTests ?? 0) > 0) failures.push(label);
    for (const file of r.testResults ?? []) {
      for (const t of file.assertionResults ?? []) {
        if (t.status !== "failed") continue;
        const where = path.relative(root, file.name);
        const why = String(t.failureMessages?.[0] ?? "").split("\n")[0].slice(0, 300);
        failedTests.push(`${where} › ${t.fullName}\n    ${why}`);
      }
      if (file.status === "failed" && (file.assertionResults ?? []).length === 0)
        failedTests.push(`${path.relative(root, file.name)} (did not load)\n    ${String(file.message ?? "").split("\n")[0].slice(0, 300)}`);
    }
    // A suite that failed to load has no failed tests but is a failure.
    if (!ok && (r.numFailedTests ?? 0) === 0) check(`${label} (suite error)`, false);
  } else check(`${label} (no report)`, ok);
}

const reportName = (pkg) => pkg.name.replace(/[@/]/g, "_");

if (want("unit")) {
  for (const { dir, pkg } of workspaces()) {
    if (pkg.scripts?.test) vitest(`vitest ${pkg.name}`, dir, reportName(pkg), []);
  }
}

// Real control plane, agent and engine processes (each workspace's vitest.system.config.ts).
if (want("system")) {
  for (const { dir, pkg } of workspaces()) {
    if (pkg.scripts?.["test:system"]) vitest(`vitest system ${pkg.name}`, dir, `${reportName(pkg)}-system`, ["--config", "vitest.system.config.ts"]);
  }
}

if (want("e2e")) {
  for (const { dir, pkg } of workspaces()) {
    if (!pkg.scripts?.e2e) continue;
    const report = path.join(out, `${reportName(pkg)}-e2e.json`);
    const ok = run(`playwright ${pkg.name}`, "npx", ["playwright", "test", "--reporter=list,json"], {
      cwd: dir,
      env: { PLAYWRIGHT_JSON_OUTPUT_NAME: report },
    });
    if (fs.existsSync(report)) {
      const s = JSON.parse(fs.readFileSync(report, "utf8")).stats ?? {};
      passed += (s.expected ?? 0) + (s.flaky ?? 0);
      failed += s.unexpected ?? 0;
      if ((s.unexpected ?? 0) > 0) failures.push(`playwright ${pkg.name}`);
      const walk = (suite, file) => {
        for (const spec of suite.specs ?? []) {
          for (const t of spec.tests ?? []) {
            if (t.status !== "unexpected") continue;
            const err = t.results?.at(-1)?.error?.message ?? "";
            failedTests.push(`${spec.file ?? file} › ${spec.title}\n    ${stripVTControlCharacters(String(err)).split("\n")[0].slice(0, 300)}`);
          }
        }
        for (const child of suite.suites ?? []) walk(child, suite.file ?? file);
      };
      for (const suite of JSON.parse(fs.readFileSync(report, "utf8")).suites ?? []) walk(suite, suite.file);
      if (!ok && (s.unexpected ?? 0) === 0) check(`playwright ${pkg.name} (run error)`, false);
    } else check(`playwright ${pkg.name} (no report)`, ok);
  }
}

if (failures.length) process.stdout.write(`\nfailed: ${failures.join(", ")}\n`);
if (failedTests.length) process.stdout.write(`\nfailed tests:\n${failedTests.map((t) => `  ${t}`).join("\n")}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
