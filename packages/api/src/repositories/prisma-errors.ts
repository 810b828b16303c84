/** True for Prisma's unique-constraint violation (P2002), however it was wrapped. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "P2002";
}
