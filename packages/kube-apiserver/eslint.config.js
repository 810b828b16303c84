import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "kube-apiserver", tsconfigRootDir: import.meta.dirname });
