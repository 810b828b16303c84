/** Metadata validation for every kind, and the few spec rules the server itself enforces for the kinds we use. */
import { arrayAt, isObject, numberAt, objectAt, stringAt, stringMapAt, valueAtPath, type JsonObject } from "../json";
import type { StatusCause } from "../status";
import type { NameRule } from "./types";

const subdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const configKeyRe = /^[-._a-zA-Z0-9]+$/;
const microTimeRe = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

export function invalidCause(field: string, value: string | number, detail: string): StatusCause {
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  return { reason: "FieldValueInvalid", message: `Invalid value: ${shown}: ${detail}`, field };
}

export function requiredCause(field: string, detail = ""): StatusCause {
  return { reason: "FieldValueRequired", message: detail === "" ? "Required value" : `Required value: ${detail}`, field };
}

export function nameProblems(name: string, rule: NameRule, field = "metadata.name"): StatusCause[] {
  switch (rule) {
    case "subdomain":
      if (name.length > 253) return [invalidCause(field, name, "must be no more than 253 characters")];
      return subdomainRe.test(name) ? [] : [invalidCause(field, name, subdomainMessage)];
    case "label":
      if (name.length > 63) return [invalidCause(field, name, "must be no more than 63 characters")];
      return labelRe.test(name) ? [] : [invalidCause(field, name, labelMessage)];
    case "path":
      if (name === "." || name === "..") return [invalidCause(field, name, `may not be '${name}'`)];
      return /[/%]/.test(name) ? [invalidCause(field, name, "may not contain '/' or '%'")] : [];
  }
}

function labelKeyProblems(key: string, field: string): StatusCause[] {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const ok = name.length <= 63 && qualifiedNameRe.test(name) && (slash < 0 || (prefix.length <= 253 && subdomainRe.test(prefix)));
  return ok ? [] : [invalidCause(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")];
}

export function metadataProblems(object: JsonObject, rule: NameRule): StatusCause[] {
  const meta = objectAt(object, "metadata") ?? {};
  const causes: StatusCause[] = [];
  const name = stringAt(meta, "name") ?? "";
  if (name === "") causes.push(requiredCause("metadata.name", "name or generateName is required"));
  else causes.push(...nameProblems(name, rule));
  for (const [k, v] of Object.entries(stringMapAt(meta, "labels"))) {
    causes.push(...labelKeyProblems(k, "metadata.labels"));
    if (v.length > 63 || !labelValueRe.test(v)) causes.push(invalidCause("metadata.labels", v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
  }
  for (const k of Object.keys(stringMapAt(meta, "annotations"))) causes.push(...labelKeyProblems(k.toLowerCase(), "metadata.annotations"));
  return causes;
}

/** MicroTime fields need exactly six fractional digits; the decoder refuses anything else (a 400 on PUT/POST). */
export function microTimeProblem(object: JsonObject, paths: string[]): string | undefined {
  for (const path of paths) {
    const v = valueAtPath(object, path);
    if (typeof v === "string" && !microTimeRe.test(v)) return `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${v.slice(19)}" as ".000000"`;
  }
  return undefined;
}

function selectorMatchesTemplate(spec: JsonObject): StatusCause[] {
  const selector = objectAt(spec, "selector");
  if (selector === undefined) return [requiredCause("spec.selector")];
  const matchLabels = stringMapAt(selector, "matchLabels");
  const labels = stringMapAt(objectAt(objectAt(spec, "template"), "metadata"), "labels");
  const exprs = (arrayAt(selector, "matchExpressions") ?? []).filter(isObject);
  if (Object.keys(matchLabels).length === 0 && exprs.length === 0) return [invalidCause("spec.selector", "", "empty selector is invalid for deployment")];
  const ok = Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
  if (ok) return [];
  const shown = `map[string]string{${Object.entries(labels).map(([k, v]) => `"${k}":"${v}"`).join(", ")}}`;
  return [{ reason: "FieldValueInvalid", message: `Invalid value: ${shown}: \`selector\` does not match template \`labels\``, field: "spec.template.metadata.labels" }];
}

function containerProblems(podSpec: JsonObject | undefined, field: string): StatusCause[] {
  const containers = arrayAt(podSpec, "containers") ?? [];
  if (containers.length === 0) return [requiredCause(`${field}.containers`)];
  const causes: StatusCause[] = [];
  containers.forEach((c, i) => {
    if (!isObject(c)) return;
    if ((stringAt(c, "name") ?? "") === "") causes.push(requiredCause(`${field}.containers[${i}].name`));
    if ((stringAt(c, "image") ?? "") === "") causes.push(requiredCause(`${field}.containers[${i}].image`));
  });
  return causes;
}

const workload = (o: JsonObject): StatusCause[] => {
  const spec = objectAt(o, "spec") ?? {};
  return [...selectorMatchesTemplate(spec), ...containerProblems(objectAt(objectAt(spec, "template"), "spec"), "spec.template.spec")];
};

const perKind: Record<string, (o: JsonObject) => StatusCause[]> = {
  ConfigMap: (o) => [...Object.keys(objectAt(o, "data") ?? {}), ...Object.keys(objectAt(o, "binaryData") ?? {})]
    .filter((k) => !configKeyRe.test(k))
    .map((k) => invalidCause(`data[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")),
  Pod: (o) => containerProblems(objectAt(o, "spec"), "spec"),
  Deployment: workload,
  StatefulSet: workload,
  ReplicaSet: workload,
  DaemonSet: workload,
  PersistentVolumeClaim: (o) => {
    const spec = objectAt(o, "spec") ?? {};
    const causes: StatusCause[] = [];
    if ((arrayAt(spec, "accessModes") ?? []).length === 0) causes.push(requiredCause("spec.accessModes", "at least 1 access mode is required"));
    if (stringAt(objectAt(objectAt(spec, "resources"), "requests"), "storage") === undefined) causes.push(requiredCause("spec.resources[storage]"));
    return causes;
  },
  PersistentVolume: (o) => {
    const spec = objectAt(o, "spec") ?? {};
    const causes: StatusCause[] = [];
    if (stringAt(objectAt(spec, "capacity"), "storage") === undefined) causes.push(requiredCause("spec.capacity"));
    if ((arrayAt(spec, "accessModes") ?? []).length === 0) causes.push(requiredCause("spec.accessModes"));
    return causes;
  },
  StorageClass: (o) => ((stringAt(o, "provisioner") ?? "") === "" ? [requiredCause("provisioner")] : []),
  Lease: (o) => {
    const d = numberAt(objectAt(o, "spec"), "leaseDurationSeconds");
    return d !== undefined && d <= 0 ? [invalidCause("spec.leaseDurationSeconds", d, "must be greater than 0")] : [];
  },
  VolumeAttachment: (o) => {
    const spec = objectAt(o, "spec") ?? {};
    const causes: StatusCause[] = [];
    if ((stringAt(spec, "attacher") ?? "") === "") causes.push(requiredCause("spec.attacher"));
    if ((stringAt(spec, "nodeName") ?? "") === "") causes.push(requiredCause("spec.nodeName"));
    const source = objectAt(spec, "source") ?? {};
    if (source.persistentVolumeName === undefined && source.inlineVolumeSpec === undefined) causes.push(requiredCause("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName"));
    return causes;
  },
  CustomResourceDefinition: (o) => {
    const spec = objectAt(o, "spec") ?? {};
    const names = objectAt(spec, "names") ?? {};
    const causes: StatusCause[] = [];
    const group = stringAt(spec, "group") ?? "";
    const plural = stringAt(names, "plural") ?? "";
    if (group === "") causes.push(requiredCause("spec.group"));
    if (plural === "") causes.push(requiredCause("spec.names.plural"));
    if ((stringAt(names, "kind") ?? "") === "") causes.push(requiredCause("spec.names.kind"));
    const name = stringAt(objectAt(o, "metadata"), "name") ?? "";
    if (plural !== "" && group !== "" && name !== `${plural}.${group}`) causes.push(invalidCause("metadata.name", name, `must be spec.names.plural+"."+spec.group`));
    const versions = (arrayAt(spec, "versions") ?? []).filter(isObject);
    if (versions.length === 0) causes.push(requiredCause("spec.versions", "must have exactly one version marked as storage version"));
    else if (versions.filter((v) => v.storage === true).length !== 1) causes.push(invalidCause("spec.versions", "", "must have exactly one version marked as storage version"));
    const scope = stringAt(spec, "scope");
    if (scope !== "Namespaced" && scope !== "Cluster") causes.push({ reason: "FieldValueNotSupported", message: `Unsupported value: ${JSON.stringify(scope ?? "")}: supported values: "Cluster", "Namespaced"`, field: "spec.scope" });
    return causes;
  },
};

export function builtinProblems(kind: string, object: JsonObject): StatusCause[] {
  return perKind[kind]?.(object) ?? [];
}
