import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "csi-spec", tsconfigRootDir: import.meta.dirname });
