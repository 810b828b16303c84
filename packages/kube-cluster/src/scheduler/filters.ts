/**
 * The scheduler's filters as pure functions of a pod, a node and the pod's volumes; each failing
 * filter answers the reason kube-scheduler prints in FailedScheduling ("N node(s) ...").
 */
import type { V1Node, V1NodeSelector, V1NodeSelectorRequirement, V1PersistentVolume, V1Pod, V1StorageClass, V1Taint, V1Toleration } from "@kubernetes/client-node";

function requirementMatches(req: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      const have = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isInteger(have) || !Number.isInteger(bound)) return false;
      return req.operator === "Gt" ? have > bound : have < bound;
    }
    default:
      return false;
  }
}

/** A NodeSelector: its terms are ORed, each term's requirements ANDed; no terms match nothing. */
export function nodeSelectorMatches(selector: V1NodeSelector, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return selector.nodeSelectorTerms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return exprs.every((e) => requirementMatches(e, labels[e.key])) && fields.every((f) => f.key === "metadata.name" && requirementMatches(f, node.metadata?.name));
  });
}

export function tolerates(toleration: V1Toleration, taint: V1Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== "" && toleration.effect !== taint.effect) return false;
  if (toleration.operator === "Exists") return toleration.key === undefined || toleration.key === "" || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? "") === (taint.value ?? "");
}

/** The first NoSchedule/NoExecute taint none of the tolerations tolerates. */
export function untoleratedTaint(node: V1Node, tolerations: readonly V1Toleration[]): V1Taint | undefined {
  return (node.spec?.taints ?? []).find((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerations.some((tol) => tolerates(tol, t)));
}

export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** The pod's volumes as the filters need them, resolved by the caller from its caches. */
export interface PodVolumes {
  /** PVs of the pod's bound claims. */
  bound: V1PersistentVolume[];
  /** Classes of the pod's unbound WaitForFirstConsumer claims. */
  waiting: V1StorageClass[];
}

/** Where the pod's own fields allow it: nodeSelector and required node affinity. */
export function matchesPodAffinity(pod: V1Pod, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required === undefined || nodeSelectorMatches(required, node);
}

/** Whether a class's allowedTopologies (ORed terms of ANDed label requirements) admit the node. */
export function topologyAllows(sc: V1StorageClass, node: V1Node): boolean {
  const terms = sc.allowedTopologies ?? [];
  if (terms.length === 0) return true;
  const labels = node.metadata?.labels ?? {};
  return terms.some((t) => (t.matchLabelExpressions ?? []).every((e) => {
    const v = labels[e.key];
    return v !== undefined && e.values.includes(v);
  }));
}

/** Undefined when the node passes every filter, else the reason it fails the first. */
export function filterNode(pod: V1Pod, node: V1Node, volumes: PodVolumes): string | undefined {
  if (node.spec?.unschedulable === true && !(pod.spec?.tolerations ?? []).some((t) => tolerates(t, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }))) return "node(s) were unschedulable";
  const taint = untoleratedTaint(node, pod.spec?.tolerations ?? []);
  if (taint) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
  if (!isNodeReady(node)) return "node(s) were not ready";
  if (!matchesPodAffinity(pod, node)) return "node(s) didn't match Node's node affinity/selector";
  for (const pv of volumes.bound) {
    const required = pv.spec?.nodeAffinity?.required;
    if (required !== undefined && !nodeSelectorMatches(required, node)) return "node(s) had volume node affinity conflict";
  }
  for (const sc of volumes.waiting) if (!topologyAllows(sc, node)) return "node(s) didn't find available persistent volumes to bind";
  return undefined;
}

/** kube-scheduler's summary: `0/N nodes are available: 2 node(s) had ..., 1 node(s) were ....` */
export function unschedulableMessage(total: number, reasons: ReadonlyMap<string, number>): string {
  // Sorted as whole strings, count included, as kube-scheduler's FitError does.
  const parts = [...reasons.entries()].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${total} nodes are available: ${parts.join(", ")}.`;
}
