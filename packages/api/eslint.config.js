import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "api", tsconfigRootDir: import.meta.dirname });
