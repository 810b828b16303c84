/**
 * Edge cases of the volume and snapshot name rule, with the verdict every
 * layer must give. The API's tests and the agent's tests both walk this one
 * table, so the dashboard, API, protocol, agent and engine cannot drift
 * apart without a test failing. Test data, exported for those tests only.
 */
import { defaultSnapshotName } from "./names";

export interface NameCase {
  name: string;
  valid: boolean;
  why: string;
}

const AT = new Date("2026-12-04T05:06:07.000Z");
const LONGEST = `a${"b".repeat(61)}c`;

export const NAME_CASES: readonly NameCase[] = [
  { name: "a", valid: true, why: "one character" },
  { name: "7", valid: true, why: "one digit" },
  { name: "pvc-orders-db", valid: true, why: "a typical name" },
  { name: "db.v2-snap", valid: true, why: "dots inside" },
  { name: LONGEST, valid: true, why: "63 characters" },
  { name: `${LONGEST}d`, valid: false, why: "64 characters" },
  { name: "a".repeat(200), valid: false, why: "200 characters, the API's old limit" },
  { name: "", valid: false, why: "empty" },
  { name: "-db", valid: false, why: "leading '-'" },
  { name: "db-", valid: false, why: "trailing '-'" },
  { name: ".db", valid: false, why: "leading '.'" },
  { name: "db.", valid: false, why: "trailing '.'" },
  { name: "-", valid: false, why: "only '-'" },
  { name: "Orders-DB", valid: false, why: "uppercase" },
  { name: "orders_db", valid: false, why: "'_', which the engine used to accept" },
  { name: "orders db", valid: false, why: "a space" },
  { name: " orders", valid: false, why: "leading space (names are not trimmed)" },
  { name: "orders/db", valid: false, why: "'/', a path separator" },
  { name: "orders@db", valid: false, why: "'@', the snapshot id separator" },
  { name: "datenbank-größe", valid: false, why: "non-ASCII letters" },
  { name: "ünicode", valid: false, why: "leading non-ASCII letter" },
  { name: "db\n", valid: false, why: "trailing newline" },
  { name: defaultSnapshotName(LONGEST, AT), valid: true, why: "the dashboard's default snapshot name for a 63-character volume" },
  { name: defaultSnapshotName("Orders_DB", AT), valid: true, why: "the dashboard's default snapshot name for a volume named under an older rule" },
];
