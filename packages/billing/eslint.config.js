import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "vocabulary", tsconfigRootDir: import.meta.dirname });
