import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "agent", tsconfigRootDir: import.meta.dirname });
