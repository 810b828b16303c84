/**
 * The CSI service definitions loaded from csi.proto with one set of options,
 * used by the server and by clients alike so both read messages the same way:
 * field names as the spec spells them (keepCase), int64 as decimal strings
 * (capacity_bytes can exceed 2^53; we convert with a range check),
 * enums as their names, absent fields filled with defaults, and the name of
 * the set member of each oneof (`access_type: "mount"`).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";

export const CSI_PROTO_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "csi.proto");

export const CSI_LOADER_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export interface CsiServices {
  Identity: ServiceClientConstructor;
  Controller: ServiceClientConstructor;
  Node: ServiceClientConstructor;
}

let loaded: CsiServices | null = null;

function member(obj: GrpcObject, name: string): GrpcObject | ServiceClientConstructor {
  const value = obj[name];
  if (value === undefined || typeof value !== "object" && typeof value !== "function") throw new Error(`csi.proto has no ${name}`);
  // Adapter: grpc-js types a package's members as a union; the structure of csi.proto fixes which is which.
  return value as GrpcObject | ServiceClientConstructor;
}

/** The three services (constructors of clients; `.service` is the definition a server adds). */
export function csiServices(): CsiServices {
  if (loaded) return loaded;
  const root = loadPackageDefinition(loadSync(CSI_PROTO_FILE, CSI_LOADER_OPTIONS));
  const v1 = member(member(root, "csi") as GrpcObject, "v1") as GrpcObject;
  loaded = {
    Identity: member(v1, "Identity") as ServiceClientConstructor,
    Controller: member(v1, "Controller") as ServiceClientConstructor,
    Node: member(v1, "Node") as ServiceClientConstructor,
  };
  return loaded;
}

export function serviceDefinition(name: keyof CsiServices): ServiceDefinition {
  return csiServices()[name].service;
}
