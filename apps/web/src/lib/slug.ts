/** A URL-safe slug from a display name, with a short random suffix so two "Acme" orgs don't collide. */
export function slugify(name: string, suffix = Math.random().toString(36).slice(2, 6)): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return `${base || "org"}-${suffix}`;
}
