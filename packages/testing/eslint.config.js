import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "testing", tsconfigRootDir: import.meta.dirname });
