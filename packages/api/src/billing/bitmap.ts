/**
 * Adapter between the ledger's bit(744) column and @stowage/billing's HourBitmap. PostgreSQL
 * sends a bit string (varbit_send, after its 4-byte length) packed first-bit-high: hour 0 is the
 * top bit of byte 0. HourBitmap keeps hour 0 in the low bit of byte 0 (bytea's get_bit order).
 * The column is bit(744), not bytea, because bit strings have an OR operator the merge needs.
 */
import { emptyHourBitmap, type HourBitmap } from "@stowage/billing";

/** Each byte with its bit order reversed. */
const REVERSED = Uint8Array.from({ length: 256 }, (_, b) => {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 0x80 >> i;
  return r;
});

export function hourBitmapFromPostgres(packed: Uint8Array): HourBitmap {
  const out = emptyHourBitmap();
  const n = Math.min(out.length, packed.length);
  for (let i = 0; i < n; i++) out[i] = REVERSED[packed[i] ?? 0] ?? 0;
  return out;
}
