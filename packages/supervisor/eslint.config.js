import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "supervisor", tsconfigRootDir: import.meta.dirname });
