import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "engine", tsconfigRootDir: import.meta.dirname });
