/** A Kubernetes API server for local clusters and tests (see README). */
export {};
