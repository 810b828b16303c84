import { AppError } from "../errors";

/**
 * Keyset cursors over `(createdAt DESC, id DESC)`. Opaque to callers
 * (base64url), so the ordering can change without breaking clients that
 * only echo `nextCursor` back.
 */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(`${pos.createdAt.toISOString()}|${pos.id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): CursorPosition {
  const raw = Buffer.from(cursor, "base64url").toString("utf8");
  const sep = raw.indexOf("|");
  const createdAt = new Date(raw.slice(0, sep));
  const id = raw.slice(sep + 1);
  if (sep < 0 || Number.isNaN(createdAt.getTime()) || id.length === 0) {
    throw new AppError("VALIDATION_FAILED", "Invalid cursor", [{ path: "cursor", message: "Invalid cursor" }]);
  }
  return { createdAt, id };
}

/** The Prisma `where` fragment for "strictly after this position" in descending order. */
export type AfterCursorWhere = {
  OR: [{ createdAt: { lt: Date } }, { createdAt: Date; id: { lt: string } }];
};

export function afterCursor(cursor: string | undefined): AfterCursorWhere | undefined {
  if (!cursor) return undefined;
  const pos = decodeCursor(cursor);
  return {
    OR: [{ createdAt: { lt: pos.createdAt } }, { createdAt: pos.createdAt, id: { lt: pos.id } }],
  };
}

/** Splits a `limit + 1` fetch into a page and the cursor of its last row. */
export function toPage<T extends CursorPosition>(rows: T[], limit: number): { rows: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: last ? encodeCursor(last) : null };
}
