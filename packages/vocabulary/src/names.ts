/**
 * Which names are valid: the one answer for the dashboard, the API, the
 * agent protocol, the agent and the engine. Each rule is a zod schema with a
 * message that says what to type, and a plain predicate for code that does
 * not parse.
 *
 * Schemas do not trim or lowercase: a name is stored and sent exactly as
 * typed, so what one layer accepts every layer accepts.
 */
import { z } from "zod";

/** Kubernetes' DNS-1123 label: namespaces, label values, Service names. */
export const DNS_LABEL_MAX_LENGTH = 63;
/** Kubernetes' DNS-1123 subdomain: most object names (PVCs, PersistentVolumes, nodes). */
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;
export const CLUSTER_NAME_MAX_LENGTH = DNS_LABEL_MAX_LENGTH;
export const NODE_NAME_MAX_LENGTH = DNS_SUBDOMAIN_MAX_LENGTH;
/**
 * Volume and snapshot names become NBD export names, file names, etcd keys
 * and Kubernetes names, so they are held to a DNS label's length.
 */
export const VOLUME_NAME_MAX_LENGTH = DNS_LABEL_MAX_LENGTH;
export const SNAPSHOT_NAME_MAX_LENGTH = DNS_LABEL_MAX_LENGTH;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN_PART = "[a-z0-9]([a-z0-9-]*[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_SUBDOMAIN_PART}(\\.${DNS_SUBDOMAIN_PART})*$`);
/** A DNS label that may also hold '.': the rule of volume and snapshot names. */
const OBJECT_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/**
 * The volume and snapshot name rule as an HTML `pattern` attribute (anchored
 * by the browser; the '-' escaped, as the `v` flag browsers compile it with
 * requires).
 */
export const OBJECT_NAME_HTML_PATTERN = "[a-z0-9]([a-z0-9.\\-]{0,61}[a-z0-9])?";

const DNS_LABEL_MESSAGE = "use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";
const DNS_SUBDOMAIN_MESSAGE = "use up to 253 lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
/** The volume and snapshot name rule in words, for messages that do not come from a schema. */
export const OBJECT_NAME_RULE = "1-63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
const OBJECT_NAME_MESSAGE = `use ${OBJECT_NAME_RULE}`;

export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

export function isDnsSubdomain(value: string): boolean {
  return value.length <= DNS_SUBDOMAIN_MAX_LENGTH && DNS_SUBDOMAIN.test(value);
}

export const isValidClusterName = isDnsLabel;
export const isValidNamespace = isDnsLabel;
export const isValidNodeName = isDnsSubdomain;

export function isValidVolumeName(value: string): boolean {
  return OBJECT_NAME.test(value);
}

export function isValidSnapshotName(value: string): boolean {
  return OBJECT_NAME.test(value);
}

/**
 * In a cluster, each replica of a volume is a device in a node's pool named by
 * its replica id: the volume's name, '-', 8 hex digits. So a pool holds names
 * up to 72 characters, though nobody may choose one longer than 63.
 */
const REPLICA_ID = /^(.+)-[0-9a-f]{8}$/;

export function isValidReplicaId(value: string): boolean {
  const volume = REPLICA_ID.exec(value)?.[1];
  return volume !== undefined && isValidVolumeName(volume);
}

// A single regex per rule (it bounds the length too), so a bad name gets one
// issue with the rule's message, and OpenAPI shows the rule as `pattern`.
export const dnsLabelSchema = z.string().regex(DNS_LABEL, DNS_LABEL_MESSAGE);
export const dnsSubdomainSchema = z.string().max(DNS_SUBDOMAIN_MAX_LENGTH, DNS_SUBDOMAIN_MESSAGE).regex(DNS_SUBDOMAIN, DNS_SUBDOMAIN_MESSAGE);

export const clusterNameSchema = dnsLabelSchema;
/** A Kubernetes namespace (and any other DNS-1123 label, such as a label value we generate). */
export const namespaceSchema = dnsLabelSchema;
/** A Kubernetes node name, which is also what the agent reports as a node's name. */
export const nodeNameSchema = dnsSubdomainSchema;
export const volumeNameSchema = z.string().regex(OBJECT_NAME, OBJECT_NAME_MESSAGE);
export const snapshotNameSchema = z.string().regex(OBJECT_NAME, OBJECT_NAME_MESSAGE);

/**
 * `yyyymmdd-hhmmss` in UTC, with the dash that joins it to the volume's name:
 * 16 characters, so the volume part keeps at most 47.
 */
function stampSuffix(at: Date): string {
  return `-${at.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-")}`;
}

/**
 * The dashboard's default name for a snapshot of `volumeName` taken at `at`:
 * the volume's name, shortened so the UTC stamp fits, then the stamp. Always a
 * valid snapshot name, even for a volume name from before the current rule
 * (uppercase and other characters are folded or replaced).
 */
export function defaultSnapshotName(volumeName: string, at: Date): string {
  const suffix = stampSuffix(at);
  const base = volumeName
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .slice(0, SNAPSHOT_NAME_MAX_LENGTH - suffix.length)
    // The stamp starts with '-', so the volume part must end with a letter or digit; it must start with one too.
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return `${base === "" ? "snapshot" : base}${suffix}`;
}

/**
 * A name as an agent reports it in telemetry. What exists is reported even
 * when it predates today's rules (an engine volume named before them, a node
 * named by its cloud), so observations are held only to being a name at all:
 * 1-253 printable characters. Whatever creates a name is held to the rules
 * above; refusing a whole telemetry batch over one old name would lose the
 * cluster's every other figure.
 */
const REPORTED_NAME = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{1,253}$/u;

export function isReportedName(value: string): boolean {
  return REPORTED_NAME.test(value);
}

export const reportedNameSchema = z.string().regex(REPORTED_NAME, "use 1-253 printable characters");

/** The name Stowage's CSI driver registers under (CSIDriver, StorageClass provisioner, PV spec.csi.driver). */
export const STOWAGE_CSI_DRIVER = "csi.stowage.io";
