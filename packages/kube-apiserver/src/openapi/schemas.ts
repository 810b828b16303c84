/**
 * OpenAPI v3 component schemas for the built-in kinds: enough structure for `kubectl explain`, and the
 * `x-kubernetes-patch-merge-key`/`patch-strategy` markers on the lists strategic merge relies on.
 * Fields not described here are open objects (`x-kubernetes-preserve-unknown-fields`).
 */
import type { JsonObject } from "../json";
import { mergeKeyTable } from "../patch/merge-keys";

export const metaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

const str = (description: string): JsonObject => ({ type: "string", description });
const int = (description: string): JsonObject => ({ type: "integer", format: "int32", description });
const map = (description: string): JsonObject => ({ type: "object", additionalProperties: { type: "string", default: "" }, description });
const open = (description: string): JsonObject => ({ type: "object", description, "x-kubernetes-preserve-unknown-fields": true });
const ref = (name: string, description = ""): JsonObject => ({ description, allOf: [{ $ref: `#/components/schemas/${name}` }] });

function mergeList(field: string, items: JsonObject, description: string): JsonObject {
  const key = mergeKeyTable()[field];
  const out: JsonObject = { type: "array", items, description };
  if (key !== undefined) {
    out["x-kubernetes-patch-merge-key"] = key;
    out["x-kubernetes-patch-strategy"] = "merge";
    out["x-kubernetes-list-type"] = "map";
    out["x-kubernetes-list-map-keys"] = [key];
  }
  return out;
}

const container: JsonObject = {
  type: "object",
  required: ["name"],
  description: "A single application container that you want to run within a pod.",
  properties: {
    name: str("Name of the container specified as a DNS_LABEL."),
    image: str("Container image name."),
    command: { type: "array", items: { type: "string", default: "" }, description: "Entrypoint array." },
    args: { type: "array", items: { type: "string", default: "" }, description: "Arguments to the entrypoint." },
    env: mergeList("env", { type: "object", required: ["name"], properties: { name: str("Name of the environment variable."), value: str("Variable value."), valueFrom: open("Source for the environment variable's value.") } }, "List of environment variables to set in the container."),
    ports: mergeList("ports", { type: "object", required: ["containerPort"], properties: { name: str("Port name."), containerPort: int("Port number."), protocol: str("Protocol.") } }, "List of ports to expose from the container."),
    volumeMounts: mergeList("volumeMounts", { type: "object", required: ["name", "mountPath"], properties: { name: str("Volume name."), mountPath: str("Path within the container."), readOnly: { type: "boolean" } } }, "Pod volumes to mount into the container's filesystem."),
    resources: open("Compute Resources required by this container."),
    imagePullPolicy: str("Image pull policy."),
  },
};

const podSpec: JsonObject = {
  type: "object",
  description: "PodSpec is a description of a pod.",
  required: ["containers"],
  properties: {
    containers: mergeList("containers", container, "List of containers belonging to the pod."),
    initContainers: mergeList("initContainers", container, "List of initialization containers belonging to the pod."),
    volumes: mergeList("volumes", { type: "object", required: ["name"], properties: { name: str("Volume's name."), persistentVolumeClaim: open("A PVC reference."), configMap: open("A ConfigMap volume."), secret: open("A Secret volume.") } }, "List of volumes that can be mounted by containers belonging to the pod."),
    nodeName: str("NodeName is a request to schedule this pod onto a specific node."),
    nodeSelector: map("NodeSelector is a selector which must be true for the pod to fit on a node."),
    serviceAccountName: str("Name of the ServiceAccount to use to run this pod."),
    tolerations: { type: "array", items: open("A toleration."), description: "If specified, the pod's tolerations." },
    restartPolicy: str("Restart policy for all containers within the pod."),
  },
};

const template: JsonObject = { type: "object", description: "Template describes the pods that will be created.", properties: { metadata: ref(metaRef, "Standard object's metadata."), spec: podSpec } };
const selector: JsonObject = { type: "object", description: "A label query over pods.", properties: { matchLabels: map("matchLabels is a map of {key,value} pairs."), matchExpressions: { type: "array", items: open("A label selector requirement.") } } };

/** Hand-written parts of specs, by kind; any other field is open. */
const specs: Record<string, JsonObject> = {
  Pod: podSpec,
  Deployment: { type: "object", description: "Specification of the desired behavior of the Deployment.", required: ["selector", "template"], properties: { replicas: int("Number of desired pods."), selector, template, strategy: open("The deployment strategy."), revisionHistoryLimit: int("Old ReplicaSets to retain."), progressDeadlineSeconds: int("Maximum time for a deployment to make progress.") } },
  StatefulSet: { type: "object", description: "Spec defines the desired identities of pods in this set.", required: ["selector", "template"], properties: { replicas: int("Desired number of replicas."), selector, template, serviceName: str("The governing service."), volumeClaimTemplates: { type: "array", items: open("A PVC template."), description: "Claims that pods are allowed to reference." } } },
  ReplicaSet: { type: "object", description: "Spec defines the desired behavior of this ReplicaSet.", required: ["selector"], properties: { replicas: int("Desired number of pods."), selector, template } },
  DaemonSet: { type: "object", description: "The desired behavior of this daemon set.", required: ["selector", "template"], properties: { selector, template } },
  PersistentVolumeClaim: { type: "object", description: "Spec defines the desired characteristics of a volume requested by a pod author.", properties: { accessModes: { type: "array", items: { type: "string", default: "" }, description: "The desired access modes." }, resources: open("Minimum resources the volume should have."), storageClassName: str("Name of the StorageClass."), volumeName: str("The binding reference to the PV."), volumeMode: str("Filesystem or Block.") } },
};

export function metaSchema(): JsonObject {
  return {
    type: "object",
    description: "ObjectMeta is metadata that all persisted resources must have.",
    properties: {
      name: str("Name must be unique within a namespace."),
      generateName: str("GenerateName is an optional prefix, used by the server, to generate a unique name."),
      namespace: str("Namespace defines the space within which each name must be unique."),
      uid: str("UID is the unique in time and space value for this object."),
      resourceVersion: str("An opaque value that represents the internal version of this object."),
      generation: { type: "integer", format: "int64", description: "A sequence number representing a specific generation of the desired state." },
      creationTimestamp: { type: "string", format: "date-time", description: "Server time when this object was created." },
      deletionTimestamp: { type: "string", format: "date-time", description: "RFC 3339 date and time at which this resource will be deleted." },
      labels: map("Map of string keys and values that can be used to organize and categorize objects."),
      annotations: map("Annotations is an unstructured key value map."),
      finalizers: { type: "array", items: { type: "string", default: "" }, description: "Must be empty before the object is deleted from the registry.", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set" },
      ownerReferences: mergeList("ownerReferences", open("OwnerReference contains enough information to let you identify an owning object."), "List of objects depended by this object."),
      managedFields: { type: "array", items: open("ManagedFieldsEntry."), description: "Maps workflow-id and version to the set of fields that are managed by that workflow." },
    },
  };
}

const topLevelMaps: Record<string, string[]> = { ConfigMap: ["data", "binaryData"], Secret: ["data", "stringData"], StorageClass: ["parameters"] };

/** The component schema of a built-in kind. */
export function builtinSchema(kind: string, description: string): JsonObject {
  const properties: JsonObject = {
    apiVersion: str("APIVersion defines the versioned schema of this representation of an object."),
    kind: str("Kind is a string value representing the REST resource this object represents."),
    metadata: ref(metaRef, "Standard object's metadata."),
  };
  const maps = topLevelMaps[kind];
  if (maps !== undefined) for (const m of maps) properties[m] = map(`${m} of the ${kind}.`);
  else if (kind === "StorageClass") properties.provisioner = str("Provisioner indicates the type of the provisioner.");
  else {
    properties.spec = specs[kind] ?? open(`Spec of the ${kind}.`);
    properties.status = open(`Most recently observed status of the ${kind}.`);
  }
  if (kind === "StorageClass") {
    properties.provisioner = str("Provisioner indicates the type of the provisioner.");
    properties.reclaimPolicy = str("reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes.");
    properties.volumeBindingMode = str("volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.");
    properties.allowVolumeExpansion = { type: "boolean", description: "allowVolumeExpansion shows whether the storage class allow volume expand." };
  }
  return { type: "object", description, properties };
}
