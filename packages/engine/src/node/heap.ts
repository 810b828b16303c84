/**
 * Heap sizing for a node process, whose data path is TLS.
 *
 * V8 counts external memory (ArrayBuffers: every chunk a TLS socket
 * delivers, I/O buffers) allocated since the last full collection against the
 * old generation's budget. A node's heap is small (~25 MB live) and its own
 * objects allocate slowly, so V8 leaves only ~8–10 MB of headroom above the
 * live size. Receiving a stream at a few hundred MB/s (a replica taking
 * writes, a replication destination taking extents) spends that headroom
 * within tens of milliseconds. The result was a full mark-compact every
 * ~100 ms for as long as data arrived, each freeing 1–2 MB: measured on a
 * replication destination, 20–24 full collections per 256 MiB received and
 * 0.3–0.6 s of its CPU on the GC helper threads and main thread, a quarter to
 * a third of the process's CPU on the run.
 *
 * Letting the old generation grow to 4× its live size before the next full
 * collection (V8 picks 1.1–4× by its own heuristics) leaves young-generation
 * collections time to free those buffers first: 3 full collections in the
 * destination's whole life in the same benchmark. The price is memory: a node with
 * ~25 MB live may hold ~100 MB before it collects.
 */
import v8 from "node:v8";

/** Percent the old generation may grow past its live size before a full collection. */
export const HEAP_GROWING_PERCENT = 300;

/** Applies to this process from the next full collection on; call once, as a node starts. */
export function sizeHeapForStreams(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
