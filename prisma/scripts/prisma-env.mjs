// The Prisma CLI insists on locating its native schema engine even for
// commands that never start it (`generate`, and `migrate diff` between two
// datamodels, which runs in WebAssembly). Offline and air-gapped installs
// cannot download it, so point the lookup at a harmless executable unless the
// operator supplied a real engine.
export function prismaEnv() {
  return {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? "/bin/true",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
    DATABASE_URL: process.env.DATABASE_URL ?? "postgresql://localhost/unused",
  };
}
