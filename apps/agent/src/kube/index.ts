/**
 * The agent's Kubernetes layer: clients, informers, leader election, events,
 * safe writes, a controller framework and Stowage's CRDs. Everything later
 * Kubernetes work (CSI controller, health monitor, scheduler extender,
 * data-protection controllers) builds on goes through this file.
 */
export { backoffDelay, type BackoffPolicy } from "./backoff";
export { createKubeClients, kubeEnvSchema, loadKubeConfig, SERVICE_ACCOUNT_DIR, type KubeClients, type KubeEnv } from "./config";
export { Controller, type ControllerDefinition, type ReconcileState, type Watched, type WatchedInformer } from "./controller";
export {
  conditionSchema,
  objectMetaSchema,
  parseStorageNode,
  STORAGE_NODE_CONDITIONS,
  storageNodeSchema,
  storageNodeSpecSchema,
  storageNodeStatusSchema,
  STOWAGE_GROUP,
  STOWAGE_VERSION,
  type Condition,
  type StorageNode,
  type StorageNodeConditionType,
  type StorageNodeStatus,
} from "./crd-schemas";
export { crdFileName, crdName, ensureCrds, renderCrdYaml, renderOneCrdYaml, STOWAGE_CRDS, storageNodeCrd, toCrd, type CrdDefinition } from "./crds";
export { apiStatusCode, apiStatusReason, describeApiError, isAlreadyExists, isConflict, isGone, isNotFound } from "./errors";
export { EventRecorder, type EventRecorderOptions, type EventSubject, type EventType, type ReportingController } from "./events";
export { Informer, kubeListWatch, type InformerHandler, type InformerMetric, type InformerOptions, type KubeListWatchOptions, type ListWatchSource, type WatchEvent, type WatchHandle } from "./informer";
export { kubeLeaseStore, LeaderElector, type LeaderElectorOptions, type LeaseRecord, type LeaseStore, type StoredLease } from "./leader-election";
export { formatMicroTime, formatTime, microTime, timeFieldMs } from "./microtime";
export { objectKey, resourceVersionOf, splitKey, type KubeObject } from "./objects";
export { findCondition, setCondition, writeCustomStatus, type CustomResourceRef, type CustomStatusApi } from "./status";
export { toStructuralSchema, type JSONSchemaProps } from "./structural-schema";
export { WorkQueue, type WorkQueueOptions } from "./workqueue";
export { ConflictRetryExhausted, deterministicName, ownerReference, updateWithConflictRetry, withOwnerReference, type ConflictRetry, type OwnerLike, type Versioned } from "./writes";
