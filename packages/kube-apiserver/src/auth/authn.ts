/** Bearer-token authentication: a known token is its user; no token is the anonymous user; a bad token is 401. */
export interface UserInfo {
  name: string;
  groups: string[];
}

export interface TokenEntry {
  token: string;
  user: string;
  groups: string[];
}

export const anonymous: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };

export function authenticate(authorization: string | undefined, tokens: TokenEntry[]): UserInfo | "invalid" {
  if (authorization === undefined || authorization === "") return anonymous;
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (m === null) return "invalid";
  const token = m[1] ?? "";
  const entry = tokens.find((t) => t.token === token);
  if (entry === undefined) return "invalid";
  return { name: entry.user, groups: [...new Set([...entry.groups, "system:authenticated"])] };
}
