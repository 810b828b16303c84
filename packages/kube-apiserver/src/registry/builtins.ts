/** The built-in kinds: one table with group/version/resource/kind, scope, names, verbs, subresources, columns and rules. */
import { objectAt, stringAt, valueAtPath, type JsonObject } from "../json";
import { builtinColumns, defaultColumns } from "./columns";
import { applyBuiltinDefaults } from "./defaults";
import { coreEventOut, eventsV1In, eventsV1Out } from "./events";
import type { NameRule, ResourceType, ScaleSpec } from "./types";
import { builtinProblems } from "./validation";

const allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

interface BuiltinSpec {
  group: string;
  version?: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: ScaleSpec;
  tracksGeneration?: boolean;
  nameRule?: NameRule;
  storageResource?: string;
  fieldSelectors?: Record<string, (o: JsonObject) => string>;
  createFinalizers?: string[];
  verbs?: string[];
}

const text = (path: string) => (o: JsonObject): string => {
  const v = valueAtPath(o, path);
  return v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
};

function eventFieldSelectors(): Record<string, (o: JsonObject) => string> {
  const out: Record<string, (o: JsonObject) => string> = {};
  for (const f of ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]) out[`involvedObject.${f}`] = text(`involvedObject.${f}`);
  out.reason = text("reason");
  out.reportingComponent = text("reportingComponent");
  out.source = text("source.component");
  out.type = text("type");
  return out;
}

const workloadScale: ScaleSpec = { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" };

const specs: BuiltinSpec[] = [
  { group: "", resource: "namespaces", kind: "Namespace", namespaced: false, shortNames: ["ns"], status: true, nameRule: "label", fieldSelectors: { "status.phase": text("status.phase") }, verbs: ["create", "delete", "get", "list", "patch", "update", "watch"] },
  {
    group: "", resource: "pods", kind: "Pod", namespaced: true, shortNames: ["po"], categories: ["all"], status: true,
    fieldSelectors: {
      "spec.nodeName": text("spec.nodeName"), "spec.restartPolicy": text("spec.restartPolicy"), "spec.schedulerName": text("spec.schedulerName"),
      "spec.serviceAccountName": text("spec.serviceAccountName"), "status.phase": text("status.phase"), "status.podIP": text("status.podIP"), "status.nominatedNodeName": text("status.nominatedNodeName"),
    },
  },
  { group: "", resource: "services", kind: "Service", namespaced: true, shortNames: ["svc"], categories: ["all"], status: true, nameRule: "label" },
  { group: "", resource: "configmaps", kind: "ConfigMap", namespaced: true, shortNames: ["cm"] },
  { group: "", resource: "secrets", kind: "Secret", namespaced: true, fieldSelectors: { type: text("type") } },
  { group: "", resource: "serviceaccounts", kind: "ServiceAccount", namespaced: true, shortNames: ["sa"] },
  { group: "", resource: "endpoints", kind: "Endpoints", namespaced: true, shortNames: ["ep"] },
  {
    group: "", resource: "events", kind: "Event", namespaced: true, shortNames: ["ev"], nameRule: "path",
    fieldSelectors: eventFieldSelectors(),
  },
  { group: "", resource: "nodes", kind: "Node", namespaced: false, shortNames: ["no"], status: true, fieldSelectors: { "spec.unschedulable": (o) => String(valueAtPath(o, "spec.unschedulable") === true) } },
  { group: "", resource: "persistentvolumes", kind: "PersistentVolume", namespaced: false, shortNames: ["pv"], status: true, createFinalizers: ["kubernetes.io/pv-protection"] },
  { group: "", resource: "persistentvolumeclaims", kind: "PersistentVolumeClaim", namespaced: true, shortNames: ["pvc"], status: true, createFinalizers: ["kubernetes.io/pvc-protection"] },
  { group: "apps", resource: "deployments", kind: "Deployment", namespaced: true, shortNames: ["deploy"], categories: ["all"], status: true, scale: workloadScale, tracksGeneration: true },
  { group: "apps", resource: "statefulsets", kind: "StatefulSet", namespaced: true, shortNames: ["sts"], categories: ["all"], status: true, scale: workloadScale, tracksGeneration: true },
  { group: "apps", resource: "replicasets", kind: "ReplicaSet", namespaced: true, shortNames: ["rs"], categories: ["all"], status: true, scale: workloadScale, tracksGeneration: true, fieldSelectors: { "status.replicas": text("status.replicas") } },
  { group: "apps", resource: "daemonsets", kind: "DaemonSet", namespaced: true, shortNames: ["ds"], categories: ["all"], status: true, tracksGeneration: true },
  { group: "apps", resource: "controllerrevisions", kind: "ControllerRevision", namespaced: true },
  { group: "batch", resource: "jobs", kind: "Job", namespaced: true, categories: ["all"], status: true, tracksGeneration: true },
  { group: "batch", resource: "cronjobs", kind: "CronJob", namespaced: true, shortNames: ["cj"], categories: ["all"], status: true, tracksGeneration: true },
  { group: "storage.k8s.io", resource: "storageclasses", kind: "StorageClass", namespaced: false, shortNames: ["sc"] },
  { group: "storage.k8s.io", resource: "csidrivers", kind: "CSIDriver", namespaced: false },
  { group: "storage.k8s.io", resource: "csinodes", kind: "CSINode", namespaced: false },
  { group: "storage.k8s.io", resource: "volumeattachments", kind: "VolumeAttachment", namespaced: false, status: true },
  { group: "snapshot.storage.k8s.io", resource: "volumesnapshots", kind: "VolumeSnapshot", namespaced: true, shortNames: ["vs"], status: true, tracksGeneration: true },
  { group: "snapshot.storage.k8s.io", resource: "volumesnapshotclasses", kind: "VolumeSnapshotClass", namespaced: false, shortNames: ["vsclass", "vsclasses"], tracksGeneration: true },
  { group: "snapshot.storage.k8s.io", resource: "volumesnapshotcontents", kind: "VolumeSnapshotContent", namespaced: false, shortNames: ["vsc", "vscs"], status: true, tracksGeneration: true },
  { group: "coordination.k8s.io", resource: "leases", kind: "Lease", namespaced: true },
  { group: "rbac.authorization.k8s.io", resource: "roles", kind: "Role", namespaced: true, nameRule: "path" },
  { group: "rbac.authorization.k8s.io", resource: "rolebindings", kind: "RoleBinding", namespaced: true, nameRule: "path" },
  { group: "rbac.authorization.k8s.io", resource: "clusterroles", kind: "ClusterRole", namespaced: false, nameRule: "path" },
  { group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false, nameRule: "path" },
  { group: "apiextensions.k8s.io", resource: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false, shortNames: ["crd", "crds"], categories: ["api-extensions"], status: true, tracksGeneration: true },
  { group: "policy", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true, shortNames: ["pdb"], status: true, tracksGeneration: true },
  { group: "events.k8s.io", resource: "events", kind: "Event", namespaced: true, shortNames: ["ev"], nameRule: "path", storageResource: "events" },
];

/** MicroTime fields per kind: six fractional digits or a decode error. */
export const microTimeFields: Record<string, string[]> = {
  "coordination.k8s.io/Lease": ["spec.acquireTime", "spec.renewTime"],
  "events.k8s.io/Event": ["eventTime"],
  "/Event": ["eventTime"],
};

function eventsV1Problems(o: JsonObject) {
  const causes = [];
  const ns = stringAt(objectAt(o, "metadata"), "namespace") ?? "";
  const regardingNs = stringAt(objectAt(o, "involvedObject"), "namespace") ?? "";
  if (regardingNs !== ns && regardingNs !== "") causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(regardingNs)}: does not match event.namespace`, field: "involvedObject.namespace" });
  if (regardingNs === "" && ns !== "") causes.push({ reason: "FieldValueInvalid", message: 'Invalid value: "": does not match event.namespace', field: "involvedObject.namespace" });
  if (o.eventTime === undefined || o.eventTime === null) causes.push({ reason: "FieldValueRequired", message: "Required value", field: "eventTime" });
  return causes;
}

function build(spec: BuiltinSpec): ResourceType {
  const group = spec.group;
  const isEventsV1 = group === "events.k8s.io";
  const isCoreEvent = group === "" && spec.resource === "events";
  return {
    group,
    version: spec.version ?? "v1",
    resource: spec.resource,
    singular: spec.kind.toLowerCase(),
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? allVerbs,
    subresources: { status: spec.status ?? false, ...(spec.scale ? { scale: spec.scale } : {}) },
    tracksGeneration: spec.tracksGeneration ?? false,
    // Snapshot kinds are CRDs in real clusters, so they are served the way CRs are.
    unstructured: group === "snapshot.storage.k8s.io",
    nameRule: spec.nameRule ?? "subdomain",
    storageResource: spec.storageResource ?? (group === "" ? spec.resource : `${group}/${spec.resource}`),
    columns: builtinColumns[`${isEventsV1 ? "" : group}/${spec.resource}`] ?? defaultColumns,
    fieldSelectors: spec.fieldSelectors ?? {},
    defaults: (o) => applyBuiltinDefaults(spec.kind, o),
    validate: (o) => [...builtinProblems(spec.kind, o), ...(isEventsV1 ? eventsV1Problems(o) : [])],
    ...(isEventsV1 ? { toStorage: eventsV1In, fromStorage: eventsV1Out } : {}),
    ...(isCoreEvent ? { fromStorage: coreEventOut } : {}),
    ...(spec.createFinalizers ? { createFinalizers: spec.createFinalizers } : {}),
  };
}

const coreEvents = specs.find((s) => s.group === "" && s.resource === "events");
const eventsV1 = specs.find((s) => s.group === "events.k8s.io");
// Both Event APIs read the same stored (core) form, so they answer the same field selectors.
if (coreEvents && eventsV1) eventsV1.fieldSelectors = coreEvents.fieldSelectors ?? {};

export const builtinTypes: ResourceType[] = specs.map(build);
