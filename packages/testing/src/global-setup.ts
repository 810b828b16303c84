import { setupTestPostgres } from "./postgres";

export default async function globalSetup(): Promise<() => Promise<void>> {
  return setupTestPostgres();
}
