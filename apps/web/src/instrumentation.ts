// Runs once when the server process starts (not during `next build`): the
// control plane's periodic jobs — telemetry partitions, rollups, retention,
// command expiry, silent-cluster alerts — live in the web server. Several
// replicas may run them; an advisory lock lets one do the work.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getApi } = await import("./server/api");
  getApi().startJobs();
}
