/** Process entry of `stowage-engine` (see bin/stowage-engine.mjs). */
import { runCli } from "./run";

const status = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  waitForStop: () =>
    new Promise<string>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve(signal));
      // A supervisor that dies without stopping us (kill -9, OOM) must not leave
      // a node serving volumes it no longer manages: with this set, stdin is a
      // pipe from the parent, and its end means the parent is gone.
      if (process.env.STOWAGE_EXIT_WITH_PARENT === "1") {
        process.stdin.once("end", () => resolve("parent-exit"));
        process.stdin.once("error", () => resolve("parent-exit"));
        process.stdin.resume();
      }
    }),
});
// Exit now rather than wait for fetch's idle keep-alive sockets to time out.
process.exit(status);
