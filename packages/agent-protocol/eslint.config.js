import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "agent-protocol", tsconfigRootDir: import.meta.dirname });
