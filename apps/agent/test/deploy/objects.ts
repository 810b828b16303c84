/**
 * The parts of Kubernetes objects the manifests tests read, as zod schemas: a rendered manifest
 * is input from outside the code, and a schema failure names the object and the field instead of
 * a test tripping over `undefined` later. Loose objects: fields the tests do not read pass through.
 */
import { z } from "zod";

const stringMap = z.record(z.string(), z.string());

export const metadataSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

export const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: metadataSchema,
});
export type KubeObject = z.infer<typeof kubeObjectSchema>;

const quantity = z.union([z.string(), z.number()]);

const probeSchema = z.looseObject({
  httpGet: z.looseObject({ path: z.string(), port: z.union([z.string(), z.number()]) }).optional(),
  tcpSocket: z.looseObject({ port: z.union([z.string(), z.number()]) }).optional(),
  exec: z.looseObject({ command: z.array(z.string()) }).optional(),
});
export type Probe = z.infer<typeof probeSchema>;

const envVarSchema = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .looseObject({
      fieldRef: z.looseObject({ fieldPath: z.string() }).optional(),
      secretKeyRef: z.looseObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() }).optional(),
    })
    .optional(),
});
export type EnvVar = z.infer<typeof envVarSchema>;

export const containerSchema = z.looseObject({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVarSchema).optional(),
  ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number().int() })).optional(),
  resources: z
    .looseObject({
      requests: z.record(z.string(), quantity).optional(),
      limits: z.record(z.string(), quantity).optional(),
    })
    .optional(),
  livenessProbe: probeSchema.optional(),
  readinessProbe: probeSchema.optional(),
  securityContext: z.looseObject({ privileged: z.boolean().optional() }).optional(),
  volumeMounts: z
    .array(
      z.looseObject({
        name: z.string(),
        mountPath: z.string(),
        readOnly: z.boolean().optional(),
        mountPropagation: z.string().optional(),
      }),
    )
    .optional(),
});
export type Container = z.infer<typeof containerSchema>;

const volumeSchema = z.looseObject({
  name: z.string(),
  hostPath: z.looseObject({ path: z.string() }).optional(),
  secret: z.looseObject({ secretName: z.string() }).optional(),
  configMap: z.looseObject({ name: z.string() }).optional(),
});

export const podSpecSchema = z.looseObject({
  serviceAccountName: z.string().optional(),
  automountServiceAccountToken: z.boolean().optional(),
  hostNetwork: z.boolean().optional(),
  dnsPolicy: z.string().optional(),
  priorityClassName: z.string().optional(),
  tolerations: z.array(z.looseObject({ key: z.string().optional(), operator: z.string().optional() })).optional(),
  initContainers: z.array(containerSchema).optional(),
  containers: z.array(containerSchema).min(1),
  volumes: z.array(volumeSchema).optional(),
});
export type PodSpec = z.infer<typeof podSpecSchema>;

export const workloadSchema = kubeObjectSchema.extend({
  spec: z.looseObject({
    replicas: z.number().int().optional(),
    selector: z.looseObject({ matchLabels: stringMap }),
    updateStrategy: z
      .looseObject({ type: z.string(), rollingUpdate: z.looseObject({ maxUnavailable: z.union([z.number(), z.string()]).optional() }).optional() })
      .optional(),
    template: z.looseObject({ metadata: z.looseObject({ labels: stringMap }), spec: podSpecSchema }),
    volumeClaimTemplates: z.array(z.looseObject({ spec: z.looseObject({ storageClassName: z.string().optional() }) })).optional(),
  }),
});
export type Workload = z.infer<typeof workloadSchema>;

export const serviceSchema = kubeObjectSchema.extend({
  spec: z.looseObject({
    clusterIP: z.string().optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    selector: stringMap,
    ports: z.array(z.looseObject({ name: z.string().optional(), port: z.number().int(), targetPort: z.union([z.string(), z.number()]).optional() })),
  }),
});

export const pdbSchema = kubeObjectSchema.extend({
  spec: z.looseObject({
    minAvailable: z.union([z.number(), z.string()]).optional(),
    maxUnavailable: z.union([z.number(), z.string()]).optional(),
    selector: z.looseObject({ matchLabels: stringMap }),
  }),
});

export const policyRuleSchema = z.looseObject({
  apiGroups: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  resourceNames: z.array(z.string()).optional(),
  nonResourceURLs: z.array(z.string()).optional(),
  verbs: z.array(z.string()).min(1),
});
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const roleSchema = kubeObjectSchema.extend({ rules: z.array(policyRuleSchema) });
export type Role = z.infer<typeof roleSchema>;

export const bindingSchema = kubeObjectSchema.extend({
  roleRef: z.looseObject({ kind: z.enum(["Role", "ClusterRole"]), name: z.string() }),
  subjects: z.array(z.looseObject({ kind: z.string(), name: z.string(), namespace: z.string().optional() })).min(1),
});
export type Binding = z.infer<typeof bindingSchema>;

export const storageClassSchema = kubeObjectSchema.extend({
  provisioner: z.string(),
  parameters: stringMap.optional(),
  allowVolumeExpansion: z.boolean().optional(),
  volumeBindingMode: z.string().optional(),
  reclaimPolicy: z.string().optional(),
});

export const csiDriverSchema = kubeObjectSchema.extend({
  spec: z.looseObject({
    attachRequired: z.boolean(),
    podInfoOnMount: z.boolean(),
    fsGroupPolicy: z.string(),
    volumeLifecycleModes: z.array(z.string()),
    storageCapacity: z.boolean(),
  }),
});

export const volumeSnapshotClassSchema = kubeObjectSchema.extend({ driver: z.string(), deletionPolicy: z.string() });

export const crdSchema = kubeObjectSchema.extend({ spec: z.looseObject({ group: z.string() }) });

export const configMapSchema = kubeObjectSchema.extend({ data: stringMap });

/** The extender entries of a KubeSchedulerConfiguration. */
export const schedulerConfigSchema = z.looseObject({
  apiVersion: z.literal("kubescheduler.config.k8s.io/v1"),
  kind: z.literal("KubeSchedulerConfiguration"),
  extenders: z.array(
    z.looseObject({
      urlPrefix: z.url(),
      filterVerb: z.string(),
      prioritizeVerb: z.string(),
      weight: z.number().int(),
      nodeCacheCapable: z.boolean(),
      ignorable: z.boolean(),
    }),
  ),
});

/**
 * StorageClass parameters exactly as the CSI driver allows them: any other key except the sidecars'
 * `csi.storage.k8s.io/` ones would be refused by CreateVolume with INVALID_ARGUMENT.
 */
export const storageClassParametersSchema = z
  .strictObject({
    replicas: z.enum(["1", "2", "3"]).optional(),
    zoneSpread: z.enum(["true", "false"]).optional(),
    encrypted: z.enum(["true", "false"]).optional(),
    encryptionKey: z.string().min(1).optional(),
    fsType: z.enum(["ext4", "xfs"]).optional(),
  })
  .refine((p) => p.encryptionKey === undefined || p.encrypted === "true", { message: "encryptionKey needs encrypted \"true\"", path: ["encryptionKey"] });

/** Kinds served without a namespace (Kubernetes' own and the CRDs the install brings). */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "CSIDriver",
  "StorageClass",
  "VolumeSnapshotClass",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "PriorityClass",
]);
