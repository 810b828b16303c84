export { PooledKubeConfig } from "./pooled-kube-config";
export { bytesToQuantity, parseQuantity, quantityToBytes } from "./quantity";
