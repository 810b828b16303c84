import { describe, expect, it } from "vitest";
import { collapse, findCycles, formatCycle, siblingFolders, stronglyConnected } from "./cycles.mjs";

const graphOf = (pairs) => {
  const graph = new Map();
  for (const [from, to] of pairs) {
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from).add(to);
  }
  return graph;
};
const edge = (from, to, typeOnly = false) => ({ from, to, typeOnly });
const folderCycles = (edges) => {
  const { graph, examples } = collapse(edges, (e) => siblingFolders(e.from, e.to));
  return findCycles(graph).map((cycle) => formatCycle(cycle, examples, true));
};

describe("findCycles", () => {
  it("finds a cycle and shows it as a chain back to its start", () => {
    const graph = graphOf([["a", "b"], ["b", "c"], ["c", "a"], ["c", "d"]]);
    expect(stronglyConnected(graph)).toEqual([["a", "b", "c"]]);
    expect(findCycles(graph)).toEqual([["a", "b", "c", "a"]]);
  });

  it("passes a DAG, diamonds included", () => {
    expect(findCycles(graphOf([["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"], ["d", "e"]]))).toEqual([]);
  });

  it("shows every node of a tangle on some cycle, each cycle once per component", () => {
    const cycles = findCycles(graphOf([["a", "b"], ["b", "a"], ["b", "c"], ["c", "b"], ["x", "y"], ["y", "x"]]));
    expect(cycles).toEqual([["a", "b", "a"], ["c", "b", "c"], ["x", "y", "x"]]);
  });
});

describe("folder cycles", () => {
  it("finds two folders importing each other, with one import per arrow", () => {
    const out = folderCycles([
      edge("pkg/src/cluster/node.ts", "pkg/src/admin/routes.ts"),
      edge("pkg/src/admin/routes.ts", "pkg/src/cluster/types.ts", true),
      edge("pkg/src/admin/server.ts", "pkg/src/cluster/node.ts"),
    ]);
    expect(out).toEqual([
      ["pkg/src/admin → pkg/src/cluster → pkg/src/admin", "    pkg/src/admin/server.ts → pkg/src/cluster/node.ts", "    pkg/src/cluster/node.ts → pkg/src/admin/routes.ts"].join("\n"),
    ]);
  });

  it("passes folders that import downward only, however deep", () => {
    expect(
      folderCycles([
        edge("pkg/src/cluster/node.ts", "pkg/src/volume/volume.ts"),
        edge("pkg/src/volume/volume.ts", "pkg/src/util/bits.ts"),
        edge("pkg/src/cluster/a/b.ts", "pkg/src/util/deep/c.ts"),
        edge("pkg/src/index.ts", "pkg/src/cluster/node.ts"),
        edge("pkg/src/cluster/node.ts", "pkg/src/logger.ts"),
      ]),
    ).toEqual([]);
  });

  it("does not count a folder importing itself, or its own subfolders, as a cycle", () => {
    expect(
      folderCycles([
        edge("pkg/src/nbd/server.ts", "pkg/src/nbd/protocol.ts"),
        edge("pkg/src/nbd/protocol.ts", "pkg/src/nbd/wire/frames.ts"),
        edge("pkg/src/nbd/wire/frames.ts", "pkg/src/nbd/errors.ts"),
      ]),
    ).toEqual([]);
  });

  it("finds a subfolder and a loose file of its parent on a cycle through another file", () => {
    const out = folderCycles([
      edge("pkg/src/trpc.ts", "pkg/src/lib/request.ts"),
      edge("pkg/src/lib/request.ts", "pkg/src/config.ts"),
      edge("pkg/src/config.ts", "pkg/src/trpc.ts"),
    ]);
    expect(out.map((c) => c.split("\n")[0])).toEqual(["pkg/src/config.ts → pkg/src/trpc.ts → pkg/src/lib → pkg/src/config.ts"]);
  });

  it("puts a test above the folder it tests", () => {
    expect(
      folderCycles([
        edge("pkg/src/volume/volume.test.ts", "pkg/src/scrub/scrub.ts"),
        edge("pkg/src/scrub/scrub.ts", "pkg/src/volume/geometry.ts"),
      ]),
    ).toEqual([]);
    expect(siblingFolders("pkg/src/volume/volume.test.ts", "pkg/src/scrub/scrub.ts")).toEqual(["pkg/src/volume (tests)", "pkg/src/scrub"]);
  });
});
