/**
 * The install manifests (deploy/): every overlay rendered with the real `kubectl kustomize`, and
 * the properties a cluster relies on asserted on the parsed objects — where things run, with what
 * rights, which images, and that the names one object uses resolve to another object in the same
 * render (Services to pods, probes to ports, bindings to roles, env to the agent's own schema).
 */
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { clusterEnvSchema, nodeEnvSchema } from "../../src/env";
import {
  bindingSchema,
  CLUSTER_SCOPED_KINDS,
  configMapSchema,
  crdSchema,
  csiDriverSchema,
  pdbSchema,
  roleSchema,
  schedulerConfigSchema,
  serviceSchema,
  storageClassParametersSchema,
  storageClassSchema,
  volumeSnapshotClassSchema,
  workloadSchema,
  type Container,
  type KubeObject,
  type PolicyRule,
  type Workload,
} from "./objects";
import { allOf, deployDir, oneOf, renderKustomization, renderWithComponents, repoRoot } from "./render";

const NAMESPACE = "stowage-system";
const DRIVER = "csi.stowage.io";
const AGENT_IMAGE = "ghcr.io/stowage/stowage-agent";
const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
const OVERLAYS = ["production", "local", "with-scheduler"] as const;
type Overlay = (typeof OVERLAYS)[number];

/** The containers that are Stowage's (or etcd's, or kube-scheduler's) own process; the rest are sidecars. */
const MAIN_CONTAINERS = new Set(["stowage-node", "stowage-cluster", "etcd", "kube-scheduler"]);

const overlayDir = (o: Overlay): string => path.join(deployDir, "overlays", o);
const rendered = new Map<Overlay, KubeObject[]>();

beforeAll(async () => {
  const results = await Promise.all(OVERLAYS.map(async (o) => [o, await renderKustomization(overlayDir(o))] as const));
  for (const [o, objects] of results) rendered.set(o, objects);
});

function objectsOf(o: Overlay): KubeObject[] {
  const objects = rendered.get(o);
  if (objects === undefined) throw new Error(`overlay ${o} was not rendered`);
  return objects;
}

const workloads = (objects: KubeObject[]): Workload[] => ["Deployment", "DaemonSet", "StatefulSet"].flatMap((kind) => allOf(objects, kind, workloadSchema));
const allContainers = (w: Workload): Container[] => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];

function container(w: Workload, name: string): Container {
  const c = allContainers(w).find((x) => x.name === name);
  if (c === undefined) throw new Error(`${w.kind} ${w.metadata.name} has no container ${name}`);
  return c;
}

/** The value of `--flag=value` among a container's arguments. */
function flag(c: Container, name: string): string | undefined {
  const prefix = `--${name}=`;
  return [...(c.command ?? []), ...(c.args ?? [])].find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/**
 * A container's environment as the kubelet would build it, given the downward-API fields and the
 * Secret keys that exist (an optional key that does not exist is left out, as the kubelet does).
 */
function environment(c: Container, fields: Record<string, string>, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    const field = v.valueFrom?.fieldRef?.fieldPath;
    const secret = v.valueFrom?.secretKeyRef;
    if (v.value !== undefined) env[v.name] = v.value;
    else if (field !== undefined) {
      const value = fields[field];
      if (value === undefined) throw new Error(`${c.name}: env ${v.name} reads field ${field}, which the test does not know`);
      env[v.name] = value;
    } else if (secret !== undefined) {
      const value = secrets[`${secret.name}/${secret.key}`];
      if (value !== undefined) env[v.name] = value;
      else if (secret.optional !== true) throw new Error(`${c.name}: env ${v.name} needs Secret ${secret.name} key ${secret.key}`);
    } else throw new Error(`${c.name}: env ${v.name} has neither value nor a known source`);
  }
  return env;
}

const podFields = { "spec.nodeName": "node-a", "status.hostIP": "10.0.0.11", "metadata.namespace": NAMESPACE, "metadata.name": "pod-0" };

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The pods' container port a Service port or probe names (by name or number). */
function resolvePort(w: Workload, port: string | number): number | undefined {
  const ports = w.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
  return typeof port === "number" ? ports.find((p) => p.containerPort === port)?.containerPort : ports.find((p) => p.name === port)?.containerPort;
}

function grants(rule: PolicyRule, group: string, resource: string): boolean {
  return (rule.apiGroups ?? []).includes(group) && (rule.resources ?? []).includes(resource);
}

describe.each(OVERLAYS)("overlay %s", (overlay) => {
  const objects = (): KubeObject[] => objectsOf(overlay);
  const nodeDaemonSet = (): Workload => oneOf(objects(), "DaemonSet", "stowage-node", workloadSchema);
  const clusterDeployment = (): Workload => oneOf(objects(), "Deployment", "stowage-cluster", workloadSchema);

  it("renders each object once, with the workloads of both roles and etcd", () => {
    const keys = objects().map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(workloads(objects()).map((w) => `${w.kind}/${w.metadata.name}`)).toEqual(
      expect.arrayContaining(["DaemonSet/stowage-node", "Deployment/stowage-cluster", "StatefulSet/stowage-etcd"]),
    );
  });

  it("puts every namespaced object in stowage-system and no namespace on cluster-scoped ones", () => {
    for (const o of objects()) {
      const where = `${o.kind} ${o.metadata.name}`;
      if (CLUSTER_SCOPED_KINDS.has(o.kind)) expect(o.metadata.namespace, where).toBeUndefined();
      else expect(o.metadata.namespace, where).toBe(NAMESPACE);
    }
  });

  it("pins every container image to an exact version tag", () => {
    for (const w of workloads(objects())) {
      for (const c of allContainers(w)) {
        // registry/repository:vX.Y.Z or X.Y.Z — no `latest`, no missing tag, no floating minor.
        expect(c.image, `${w.metadata.name}/${c.name}`).toMatch(/^[a-z0-9.-]+(?::\d+)?\/[a-z0-9./_-]+:v?\d+\.\d+\.\d+$/);
      }
    }
  });

  it("gives every container resource requests, and Stowage's own processes limits and probes on ports that exist", () => {
    for (const w of workloads(objects())) {
      for (const c of allContainers(w)) {
        const where = `${w.metadata.name}/${c.name}`;
        expect(c.resources?.requests?.cpu, where).toBeDefined();
        expect(c.resources?.requests?.memory, where).toBeDefined();
        if (MAIN_CONTAINERS.has(c.name)) {
          expect(c.resources?.limits?.memory, where).toBeDefined();
          expect(c.livenessProbe, where).toBeDefined();
          expect(c.readinessProbe, where).toBeDefined();
        }
        for (const probe of [c.livenessProbe, c.readinessProbe]) {
          const port = probe?.httpGet?.port;
          if (port !== undefined) expect(resolvePort(w, port), `${where} probes port ${port}`).toBeDefined();
        }
      }
    }
  });

  it("runs the node agent privileged on the host network with the kubelet dir shared Bidirectional", () => {
    const ds = nodeDaemonSet();
    const pod = ds.spec.template.spec;
    const node = container(ds, "stowage-node");
    expect(node.securityContext?.privileged).toBe(true);
    expect(node.args).toEqual(["node"]);
    expect(pod.hostNetwork).toBe(true);
    // Without it a host-network pod cannot resolve the etcd members' Service names.
    expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(pod.priorityClassName).toBe("system-node-critical");
    expect(pod.tolerations).toContainEqual({ operator: "Exists" });
    expect(ds.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });

    const hostPathOf = (mountPath: string): string | undefined => {
      const mount = node.volumeMounts?.find((m) => m.mountPath === mountPath);
      return pod.volumes?.find((v) => v.name === mount?.name)?.hostPath?.path;
    };
    const kubelet = node.volumeMounts?.find((m) => m.mountPath === "/var/lib/kubelet");
    expect(kubelet?.mountPropagation).toBe("Bidirectional");
    expect(hostPathOf("/var/lib/kubelet")).toBe("/var/lib/kubelet");
    expect(hostPathOf("/dev")).toBe("/dev");
    expect(hostPathOf("/var/lib/stowage")).toBe("/var/lib/stowage");
    for (const readOnly of ["/sys", "/lib/modules"]) {
      expect(hostPathOf(readOnly), readOnly).toBe(readOnly);
      expect(node.volumeMounts?.find((m) => m.mountPath === readOnly)?.readOnly, readOnly).toBe(true);
    }

    // The socket the agent serves is the one the registrar announces to the kubelet.
    const pluginDir = hostPathOf("/csi");
    expect(pluginDir).toBe(`/var/lib/kubelet/plugins/${DRIVER}/`);
    const registrar = container(ds, "node-driver-registrar");
    expect(flag(registrar, "csi-address")).toBe("/csi/csi.sock");
    expect(flag(registrar, "kubelet-registration-path")).toBe(`${pluginDir ?? ""}csi.sock`);
    expect(registrar.volumeMounts?.find((m) => m.mountPath === "/registration")?.name).toBe(
      pod.volumes?.find((v) => v.hostPath?.path === "/var/lib/kubelet/plugins_registry/")?.name,
    );
  });

  it("gives the node agent an environment the agent's own schema accepts, with the contract's values", () => {
    const node = container(nodeDaemonSet(), "stowage-node");
    const env = environment(node, podFields, {});
    expect(node.env?.find((v) => v.name === "STOWAGE_NODE_ID")?.valueFrom?.fieldRef?.fieldPath).toBe("spec.nodeName");
    const parsed = nodeEnvSchema.parse(env);
    expect(parsed.STOWAGE_NODE_ID).toBe("node-a");
    expect(env.STOWAGE_CSI_SOCKET).toBe("/csi/csi.sock");
    expect(parsed.STOWAGE_METRICS_HOST).toBe("0.0.0.0");
    expect(parsed.STOWAGE_METRICS_PORT).toBe(9464);
    // The plain admin endpoint stays on loopback; the network gets it over mutual TLS only.
    expect(parsed.STOWAGE_ADMIN).toBe("127.0.0.1:9813");
    expect(parsed.STOWAGE_ADMIN_TLS).toBe("0.0.0.0:9809");
    expect(parsed.STOWAGE_ADMIN_TLS_NAMES).toEqual([`stowage-node-admin.${NAMESPACE}.svc`]);
    expect(parsed.STOWAGE_NODE_IP).toBe("10.0.0.11");
    expect(parsed.STOWAGE_NBD).toBe("0.0.0.0:10809");
    expect(parsed.STOWAGE_LISTEN_REPLICATION).toBe("0.0.0.0:9810");
    expect(node.ports?.find((p) => p.name === "metrics")?.containerPort).toBe(parsed.STOWAGE_METRICS_PORT);
    // The TLS dir and the pool are mounted where the environment points.
    const mounts = (node.volumeMounts ?? []).map((m) => m.mountPath);
    expect(mounts).toContain(parsed.STOWAGE_TLS_DIR);
    expect(parsed.STOWAGE_POOL_DIR.startsWith("/var/lib/stowage/")).toBe(true);
  });

  it("points the node agents at every etcd member, behind a headless Service, three on three nodes", () => {
    const etcd = oneOf(objects(), "StatefulSet", "stowage-etcd", workloadSchema);
    expect(etcd.spec.replicas).toBe(3);
    expect(container(etcd, "etcd").image).toMatch(/^quay\.io\/coreos\/etcd:v3\.5\.\d+$/);
    const svc = oneOf(objects(), "Service", "stowage-etcd", serviceSchema);
    expect(svc.spec.clusterIP).toBe("None");
    expect(svc.spec.publishNotReadyAddresses).toBe(true);
    expect(selects(svc.spec.selector, etcd.spec.template.metadata.labels)).toBe(true);
    const pdb = allOf(objects(), "PodDisruptionBudget", pdbSchema).find((p) => selects(p.spec.selector.matchLabels, etcd.spec.template.metadata.labels));
    expect(pdb?.spec.maxUnavailable).toBe(1);
    expect(JSON.stringify(etcd.spec.template.spec)).toContain("requiredDuringSchedulingIgnoredDuringExecution");
    // Stowage's volumes need this etcd: its own claims must not ask Stowage for storage.
    for (const claim of etcd.spec.volumeClaimTemplates ?? []) expect(claim.spec.storageClassName ?? "").not.toMatch(/^stowage-/);

    const members = Array.from({ length: 3 }, (_, i) => `http://stowage-etcd-${i}.stowage-etcd.${NAMESPACE}.svc:2379`);
    const env = environment(container(nodeDaemonSet(), "stowage-node"), podFields, {});
    expect(env.STOWAGE_ETCD?.split(",")).toEqual(members);
  });

  it("runs the cluster role beside the CSI sidecars on one socket, with leader election and a PDB", () => {
    const d = clusterDeployment();
    expect(d.spec.replicas).toBe(overlay === "local" ? 1 : 2);
    const agent = container(d, "stowage-cluster");
    expect(agent.args).toEqual(["cluster"]);
    const socketVolume = agent.volumeMounts?.find((m) => m.mountPath === "/csi")?.name;
    expect(d.spec.template.spec.volumes?.find((v) => v.name === socketVolume)).toMatchObject({ emptyDir: {} });
    for (const name of ["csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter"]) {
      const sidecar = container(d, name);
      expect(sidecar.args, name).toContain("--leader-election");
      expect(flag(sidecar, "csi-address"), name).toBe("/csi/csi.sock");
      expect(sidecar.volumeMounts?.find((m) => m.mountPath === "/csi")?.name, name).toBe(socketVolume);
      expect(sidecar.image, name).toMatch(new RegExp(`^registry\\.k8s\\.io/sig-storage/${name}:v`));
    }
    const provisioner = container(d, "csi-provisioner");
    expect(provisioner.args).toEqual(expect.arrayContaining(["--feature-gates=Topology=true", "--extra-create-metadata"]));

    const pdb = allOf(objects(), "PodDisruptionBudget", pdbSchema).find((p) => selects(p.spec.selector.matchLabels, d.spec.template.metadata.labels));
    expect(pdb?.spec.minAvailable).toBe(1);
  });

  it("gives the cluster agent an environment its schema accepts, the join Secret optional", () => {
    const d = clusterDeployment();
    const agent = container(d, "stowage-cluster");
    for (const name of ["STOWAGE_CONTROL_PLANE_URL", "STOWAGE_JOIN_TOKEN"]) {
      expect(agent.env?.find((v) => v.name === name)?.valueFrom?.secretKeyRef, name).toMatchObject({ name: "stowage-join", optional: true });
    }
    const secrets = { "stowage-join/controlPlaneUrl": "https://stowage.example.com", "stowage-join/joinToken": "join-token" };
    const env = environment(agent, podFields, secrets);
    const parsed = clusterEnvSchema.parse(env);
    expect(env.STOWAGE_EXTENDER_PORT).toBe("8099");
    expect(env.STOWAGE_CSI_SOCKET).toBe("/csi/csi.sock");
    expect(parsed.STOWAGE_METRICS_PORT).toBe(9464);
    expect(agent.volumeMounts?.map((m) => m.mountPath)).toContain(parsed.STOWAGE_STATE_DIR);

    // STOWAGE_ENGINE_ADMIN names, over https, a Service that reaches the node agents' TLS admin
    // port, by a name the nodes put in their certificates; the admin certificate is a Secret mount.
    const [endpoint] = parsed.STOWAGE_ENGINE_ADMIN;
    const match = /^https:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)$/.exec(endpoint ?? "");
    const nodeEnv = nodeEnvSchema.parse(environment(container(nodeDaemonSet(), "stowage-node"), podFields, {}));
    expect(endpoint).toBe(`https://${nodeEnv.STOWAGE_ADMIN_TLS_NAMES?.[0] ?? ""}:${nodeEnv.STOWAGE_ADMIN_TLS?.split(":")[1] ?? ""}`);
    const tlsMount = agent.volumeMounts?.find((m) => m.mountPath === parsed.STOWAGE_ENGINE_ADMIN_TLS_DIR);
    expect(tlsMount?.readOnly).toBe(true);
    expect(d.spec.template.spec.volumes?.find((v) => v.name === tlsMount?.name)).toMatchObject({ secret: { secretName: "stowage-admin-tls" } });
    expect(match, endpoint).not.toBeNull();
    const [, svcName = "", svcNamespace, svcPort] = match ?? [];
    const svc = oneOf(objects(), "Service", svcName, serviceSchema);
    expect(svc.metadata.namespace).toBe(svcNamespace);
    const port = svc.spec.ports.find((p) => p.port === Number(svcPort));
    const ds = nodeDaemonSet();
    expect(selects(svc.spec.selector, ds.spec.template.metadata.labels)).toBe(true);
    expect(resolvePort(ds, port?.targetPort ?? -1)).toBe(9809);
    expect(svc.spec.clusterIP).toBe("None");

    // The scheduler extender's Service reaches the cluster agent's extender port.
    const extender = oneOf(objects(), "Service", "stowage-scheduler-extender", serviceSchema);
    expect(selects(extender.spec.selector, d.spec.template.metadata.labels)).toBe(true);
    expect(extender.spec.ports[0]?.port).toBe(8099);
    expect(resolvePort(d, extender.spec.ports[0]?.targetPort ?? -1)).toBe(Number(env.STOWAGE_EXTENDER_PORT));
  });

  it("runs each workload under a service account that exists and is bound to its own role", () => {
    const accounts = new Set(objects().filter((o) => o.kind === "ServiceAccount").map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`));
    const bindings = [...allOf(objects(), "ClusterRoleBinding", bindingSchema), ...allOf(objects(), "RoleBinding", bindingSchema)];
    for (const w of workloads(objects())) {
      const pod = w.spec.template.spec;
      const sa = pod.serviceAccountName;
      expect(sa, w.metadata.name).toBeDefined();
      expect(accounts.has(`${NAMESPACE}/${sa ?? ""}`), `${w.metadata.name} uses ${sa ?? ""}`).toBe(true);
      // etcd reads nothing from the API: no token, no binding.
      if (pod.automountServiceAccountToken === false) continue;
      const bound = bindings.filter((b) => b.subjects.some((s) => s.kind === "ServiceAccount" && s.name === sa && s.namespace === NAMESPACE));
      expect(bound.length, `${sa ?? ""} has bindings`).toBeGreaterThan(0);
      if (sa === "stowage-node" || sa === "stowage-cluster") {
        expect(bound.some((b) => b.kind === "ClusterRoleBinding" && b.roleRef.name === sa), `${sa} bound to ClusterRole ${sa}`).toBe(true);
      }
    }
  });

  it("grants no wildcard and binds only to roles that exist (or Kubernetes' own system: roles)", () => {
    const roles = [...allOf(objects(), "ClusterRole", roleSchema), ...allOf(objects(), "Role", roleSchema)];
    for (const role of roles) {
      for (const rule of role.rules) {
        const where = `${role.kind} ${role.metadata.name}`;
        for (const field of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? [], rule.resourceNames ?? []]) expect(field, where).not.toContain("*");
        expect(rule.nonResourceURLs, where).toBeUndefined();
      }
    }
    for (const b of [...allOf(objects(), "ClusterRoleBinding", bindingSchema), ...allOf(objects(), "RoleBinding", bindingSchema)]) {
      if (b.roleRef.name.startsWith("system:")) continue;
      const target = roles.find((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name && (b.roleRef.kind === "ClusterRole" || r.metadata.namespace === b.metadata.namespace));
      expect(target, `${b.kind} ${b.metadata.name} → ${b.roleRef.kind} ${b.roleRef.name}`).toBeDefined();
    }
  });

  it("grants Leases and Secrets only in stowage-system, the agent's Lease by name", () => {
    for (const role of allOf(objects(), "ClusterRole", roleSchema)) {
      for (const rule of role.rules) {
        expect(grants(rule, "coordination.k8s.io", "leases"), `ClusterRole ${role.metadata.name} grants leases`).toBe(false);
        expect(grants(rule, "", "secrets"), `ClusterRole ${role.metadata.name} grants secrets`).toBe(false);
      }
    }
    const role = oneOf(objects(), "Role", "stowage-cluster", roleSchema);
    expect(role.metadata.namespace).toBe(NAMESPACE);
    const leaseRules = role.rules.filter((r) => grants(r, "coordination.k8s.io", "leases"));
    expect(leaseRules.find((r) => r.verbs.includes("update"))?.resourceNames).toEqual(["stowage-cluster"]);
    for (const rule of role.rules.filter((r) => grants(r, "", "secrets"))) expect(rule.resourceNames).toEqual(["stowage-join"]);
  });

  it("grants the CRD rights only on the CRDs it installs", () => {
    const role = oneOf(objects(), "ClusterRole", "stowage-cluster", roleSchema);
    const named = role.rules.filter((r) => grants(r, "apiextensions.k8s.io", "customresourcedefinitions"));
    for (const rule of named.filter((r) => !(r.verbs.length === 1 && r.verbs[0] === "create"))) {
      expect(rule.resourceNames?.length ?? 0).toBeGreaterThan(0);
      for (const crd of allOf(objects(), "CustomResourceDefinition", crdSchema)) expect(rule.resourceNames).toContain(crd.metadata.name);
    }
    for (const crd of allOf(objects(), "CustomResourceDefinition", crdSchema)) expect(crd.spec.group).toBe("stowage.io");
  });

  it("declares the CSIDriver, the storage classes with contract parameters, and the snapshot class", () => {
    const driver = oneOf(objects(), "CSIDriver", DRIVER, csiDriverSchema);
    expect(driver.spec).toMatchObject({ attachRequired: true, podInfoOnMount: true, fsGroupPolicy: "File", volumeLifecycleModes: ["Persistent"] });

    const classes = allOf(objects(), "StorageClass", storageClassSchema);
    expect(classes.map((c) => c.metadata.name).sort()).toEqual(["stowage-encrypted", "stowage-replicated", "stowage-single"]);
    for (const c of classes) {
      const where = c.metadata.name;
      expect(c.provisioner, where).toBe(DRIVER);
      const own = Object.fromEntries(Object.entries(c.parameters ?? {}).filter(([k]) => !k.startsWith("csi.storage.k8s.io/")));
      const parsed = storageClassParametersSchema.safeParse(own);
      expect(parsed.success, `${where}: ${parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") ?? ""}`).toBe(true);
      expect(c.allowVolumeExpansion, where).toBe(true);
      expect(c.volumeBindingMode, where).toBe("WaitForFirstConsumer");
      expect(c.reclaimPolicy, where).toBe("Delete");
      // Only an overlay that asks for it (a Component) makes a Stowage class the default.
      expect(c.metadata.annotations?.[DEFAULT_CLASS], where).not.toBe("true");
    }
    const params = (name: string): Record<string, string> | undefined => classes.find((c) => c.metadata.name === name)?.parameters;
    expect(params("stowage-replicated")).toEqual({ replicas: "3", zoneSpread: "true" });
    expect(params("stowage-single")).toEqual({ replicas: "1" });
    expect(params("stowage-encrypted")).toEqual({ replicas: "3", encrypted: "true" });

    const snapshots = oneOf(objects(), "VolumeSnapshotClass", "stowage-snapshots", volumeSnapshotClassSchema);
    expect(snapshots).toMatchObject({ driver: DRIVER, deletionPolicy: "Delete" });
  });
});

describe("production overlay", () => {
  it("pins the agent image to the agent package's version", () => {
    const pkg = z.object({ version: z.string() }).parse(JSON.parse(fs.readFileSync(path.join(repoRoot, "apps/agent/package.json"), "utf8")));
    const images = workloads(objectsOf("production")).flatMap((w) => allContainers(w).map((c) => c.image)).filter((i) => i.startsWith(`${AGENT_IMAGE}:`));
    expect(images.length).toBeGreaterThan(0);
    expect(new Set(images)).toEqual(new Set([`${AGENT_IMAGE}:${pkg.version}`]));
  });

  it("leaves the cluster's default StorageClass alone", () => {
    for (const c of allOf(objectsOf("production"), "StorageClass", storageClassSchema)) expect(c.metadata.annotations?.[DEFAULT_CLASS], c.metadata.name).toBe("false");
  });

  it("holds node agents to their own StorageNode by admission policy (left out of the local overlay)", () => {
    const policy = objectsOf("production").find((o) => o.kind === "ValidatingAdmissionPolicy");
    const binding = z
      .looseObject({ spec: z.looseObject({ policyName: z.string(), validationActions: z.array(z.string()) }) })
      .parse(objectsOf("production").find((o) => o.kind === "ValidatingAdmissionPolicyBinding"));
    expect(binding.spec.policyName).toBe(policy?.metadata.name);
    expect(binding.spec.validationActions).toEqual(["Deny"]);
    expect(JSON.stringify(policy)).toContain("system:serviceaccount:stowage-system:stowage-node");
    expect(objectsOf("local").some((o) => o.apiVersion.startsWith("admissionregistration.k8s.io/"))).toBe(false);
  });
});

describe("components", () => {
  it("default-storage-class makes exactly stowage-replicated the default", async () => {
    const objects = await renderWithComponents(overlayDir("production"), [path.join(deployDir, "components/default-storage-class")]);
    const defaults = allOf(objects, "StorageClass", storageClassSchema).filter((c) => c.metadata.annotations?.[DEFAULT_CLASS] === "true");
    expect(defaults.map((c) => c.metadata.name)).toEqual(["stowage-replicated"]);
  });

  it("encryption gives every node agent the key file from the stowage-kms Secret", async () => {
    const objects = await renderWithComponents(overlayDir("production"), [path.join(deployDir, "components/encryption")]);
    const ds = oneOf(objects, "DaemonSet", "stowage-node", workloadSchema);
    const node = container(ds, "stowage-node");
    const env = nodeEnvSchema.parse(environment(node, podFields, {}));
    const keyFile = env.STOWAGE_KMS_KEY_FILE ?? "";
    const mount = node.volumeMounts?.find((m) => keyFile.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    expect(ds.spec.template.spec.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName).toBe("stowage-kms");
    // The rest of the container is the base's: the patch merged, not replaced.
    expect(env.STOWAGE_NODE_ID).toBe("node-a");
    expect(node.volumeMounts?.some((m) => m.mountPath === "/var/lib/kubelet")).toBe(true);
  });
});

describe("scheduler extender configuration", () => {
  const extenders = (text: string): unknown => schedulerConfigSchema.parse(parseYaml(text)).extenders;

  it("is the same in the snippet for self-managed schedulers and in the second scheduler", () => {
    const snippet = extenders(fs.readFileSync(path.join(deployDir, "scheduler/extender-config.yaml"), "utf8"));
    const objects = objectsOf("with-scheduler");
    const scheduler = oneOf(objects, "Deployment", "stowage-scheduler", workloadSchema);
    const configMapName = scheduler.spec.template.spec.volumes?.find((v) => v.configMap !== undefined)?.configMap?.name ?? "";
    const configMap = oneOf(objects, "ConfigMap", configMapName, configMapSchema);
    const config = configMap.data["config.yaml"] ?? "";
    expect(extenders(config)).toEqual(snippet);
    expect(flag(container(scheduler, "kube-scheduler"), "config")).toBe("/etc/stowage-scheduler/config.yaml");
    expect(parseYaml(config)).toMatchObject({ profiles: [{ schedulerName: "stowage-scheduler" }], leaderElection: { leaderElect: true, resourceNamespace: NAMESPACE } });
  });

  it("calls the extender Service on its port, filter and prioritize, ignorable", () => {
    const [entry] = schedulerConfigSchema.parse(parseYaml(fs.readFileSync(path.join(deployDir, "scheduler/extender-config.yaml"), "utf8"))).extenders;
    expect(entry).toMatchObject({ urlPrefix: `http://stowage-scheduler-extender.${NAMESPACE}.svc:8099`, filterVerb: "filter", prioritizeVerb: "prioritize", weight: 5, nodeCacheCapable: false, ignorable: true });
  });
});

describe("CRDs", () => {
  it("lists every CRD file of deploy/base/crds in its kustomization", () => {
    const dir = path.join(deployDir, "base/crds");
    const listed = z.object({ resources: z.array(z.string()) }).parse(parseYaml(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"))).resources;
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...listed].sort()).toEqual(files.sort());
  });
});
