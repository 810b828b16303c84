import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "kube-client", tsconfigRootDir: import.meta.dirname });
