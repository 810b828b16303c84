import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "kube-cluster", tsconfigRootDir: import.meta.dirname });
