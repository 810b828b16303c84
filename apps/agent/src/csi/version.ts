/** The agent's package version: the CSI plugin's vendor_version. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export function agentPackageVersion(): string {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");
  const { version } = z.object({ version: z.string().min(1) }).parse(JSON.parse(fs.readFileSync(file, "utf8")));
  return version;
}
