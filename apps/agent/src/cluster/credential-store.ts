import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

const stateSchema = z.object({
  clusterId: z.string(),
  organizationId: z.string(),
  clusterName: z.string(),
  credential: z.string(),
  instanceId: z.string().uuid(),
});
export type AgentIdentity = z.infer<typeof stateSchema>;

/**
 * The cluster credential received at registration, kept in the agent's state
 * directory (mode 0600; a Kubernetes Secret in production). The join token is
 * single-use, so losing this file means issuing a new token.
 */
export class CredentialStore {
  constructor(private readonly dir: string) {}

  private get file(): string {
    return path.join(this.dir, "identity.json");
  }

  async load(): Promise<AgentIdentity | null> {
    try {
      return stateSchema.parse(JSON.parse(await fs.readFile(this.file, "utf8")));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new Error(`agent identity in ${this.file} is unreadable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async save(identity: AgentIdentity): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(identity), { mode: 0o600 });
    await fs.rename(tmp, this.file);
  }
}
