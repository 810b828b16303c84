/** Process entry of `stowage-engine` (see bin/stowage-engine.mjs). */
import { runCli } from "./run";

const status = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  waitForStop: () =>
    new Promise<string>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve(signal));
    }),
});
// Exit now rather than wait for fetch's idle keep-alive sockets to time out.
process.exit(status);
