/** The rest of a Kubernetes cluster around @stowage/kube-apiserver, for local clusters and tests (see README). */
export {};
