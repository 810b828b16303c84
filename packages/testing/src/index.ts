export { createTestDatabase, setupTestPostgres, type TestDatabase } from "./postgres";
