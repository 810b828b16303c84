// Cycle finding over a dependency graph, for check-cycles.mjs. A graph is a
// Map from a node to the nodes it depends on; edges are { from, to, typeOnly }
// between files, collapsed to folders or workspaces by a key function.

/**
 * Strongly connected components (Tarjan, iterative), each as a sorted list of
 * nodes. Components of one node are left out unless the node depends on itself.
 * @param {Map<string, Iterable<string>>} graph
 * @returns {string[][]}
 */
export function stronglyConnected(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  let next = 0;
  const targets = (node) => [...(graph.get(node) ?? [])];

  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work = [{ node: root, edges: targets(root), i: 0 }];
    index.set(root, next);
    low.set(root, next);
    next += 1;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame.i < frame.edges.length) {
        const to = frame.edges[frame.i];
        frame.i += 1;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next);
          next += 1;
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edges: targets(to), i: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(to)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1 || targets(frame.node).includes(frame.node)) components.push(component.sort());
      }
    }
  }
  return components.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/**
 * The shortest cycle through `start` that stays inside `members`, as
 * [start, ..., start]; undefined when there is none.
 * @param {Map<string, Iterable<string>>} graph
 * @param {string} start
 * @param {Set<string>} members
 */
export function shortestCycle(graph, start, members) {
  const parent = new Map();
  const queue = [start];
  for (let q = 0; q < queue.length; q += 1) {
    const node = queue[q];
    for (const to of [...(graph.get(node) ?? [])].sort()) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let n = node; n !== start; n = parent.get(n)) path.unshift(n);
        path.unshift(start);
        return path;
      }
      if (!parent.has(to)) {
        parent.set(to, node);
        queue.push(to);
      }
    }
  }
  return undefined;
}

/**
 * Cycles to show for a graph: for every strongly connected component, shortest
 * cycles until each of its nodes is on one. An empty list means the graph is
 * acyclic.
 * @param {Map<string, Iterable<string>>} graph
 * @returns {string[][]}
 */
export function findCycles(graph) {
  const cycles = [];
  for (const component of stronglyConnected(graph)) {
    const members = new Set(component);
    const covered = new Set();
    for (const node of component) {
      if (covered.has(node)) continue;
      const cycle = shortestCycle(graph, node, members);
      if (!cycle) continue;
      cycle.forEach((n) => covered.add(n));
      cycles.push(cycle);
    }
  }
  return cycles;
}

export const isTestFile = (file) => /\.(test|spec)\.[cm]?[jt]sx?$/.test(file);

/**
 * The edge between folders that an import between two files of one workspace
 * makes, for folders that are siblings: below the deepest folder holding both
 * files, each side is the sibling folder it lies in, or the file itself when
 * it lies directly in that folder. So `a/x/f.ts → a/y/z/g.ts` is `a/x → a/y`,
 * and `a/f.ts → a/x/g.ts` is `a/f.ts → a/x`: the loose files of a folder stand
 * beside its subfolders (the folder as a whole is one node only among its own
 * siblings). Test files are above what they test: inside a sibling folder they
 * make a node of their own, `a/x (tests)`, so a test in a/x using a/y, which
 * uses a/x, is no cycle.
 * @param {string} from
 * @param {string} to
 * @returns {[string, string]}
 */
export function siblingFolders(from, to) {
  const a = from.split("/");
  const b = to.split("/");
  let i = 0;
  while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i += 1;
  const side = (parts, file) => {
    if (i === parts.length - 1) return file;
    const dir = parts.slice(0, i + 1).join("/");
    return isTestFile(file) ? `${dir} (tests)` : dir;
  };
  return [side(a, from), side(b, to)];
}

/**
 * Collapses file edges to edges between groups (folders, workspaces). Edges
 * inside one group are dropped: a folder importing itself is no cycle. For
 * every group edge one example file edge is kept, a runtime import when there
 * is one.
 * @param {{ from: string, to: string, typeOnly?: boolean }[]} edges
 * @param {(edge: { from: string, to: string }) => [string, string] | undefined} ends the groups an edge joins; undefined leaves it out
 */
export function collapse(edges, ends) {
  /** @type {Map<string, Set<string>>} */
  const graph = new Map();
  /** @type {Map<string, { from: string, to: string, typeOnly?: boolean }>} */
  const examples = new Map();
  for (const edge of edges) {
    const [from, to] = ends(edge) ?? [];
    if (from === undefined || to === undefined || from === to) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from).add(to);
    const id = `${from}\0${to}`;
    const seen = examples.get(id);
    if (!seen || (seen.typeOnly && !edge.typeOnly)) examples.set(id, edge);
  }
  return { graph, examples };
}

/** The graph of file edges themselves. */
export function fileGraph(edges) {
  return collapse(edges, (edge) => [edge.from, edge.to]);
}

/**
 * "a → b → c → a", then one example import per arrow when the nodes are groups.
 * @param {string[]} cycle
 * @param {Map<string, { from: string, to: string, typeOnly?: boolean }>} examples
 * @param {boolean} withExamples
 */
export function formatCycle(cycle, examples, withExamples) {
  const typeOnly = (from, to) => (examples.get(`${from}\0${to}`)?.typeOnly ? " (type-only)" : "");
  if (!withExamples) {
    return cycle.map((node, i) => (i === 0 ? node : `→${typeOnly(cycle[i - 1], node)} ${node}`)).join(" ");
  }
  const lines = [cycle.join(" → ")];
  for (let i = 1; i < cycle.length; i += 1) {
    const edge = examples.get(`${cycle[i - 1]}\0${cycle[i]}`);
    if (edge) lines.push(`    ${edge.from} → ${edge.to}${edge.typeOnly ? " (type-only)" : ""}`);
  }
  return lines.join("\n");
}
