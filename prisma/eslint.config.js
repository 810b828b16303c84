import { stowageConfig } from "@stowage/eslint-config";

export default stowageConfig({ layer: "prisma", tsconfigRootDir: import.meta.dirname, ignores: ["migrations/**"] });
