/** A Kubernetes API server for local clusters and tests, faithful at the wire level (see the README of the transcripts). */
export { startKubeApiServer, kubeApiServerOptionsSchema, type KubeApiServer, type KubeApiServerOptions } from "./kube-apiserver";
export type { ServerContext } from "./context";
export { objectKey, collectionPrefix, present } from "./context";
export type { ResourceType } from "./registry/types";
export { ResourceRegistry } from "./registry/registry";
export { EtcdStore, type StoredObject } from "./storage/store";
export { serverVersion } from "./server";
export type { Json, JsonObject } from "./json";
