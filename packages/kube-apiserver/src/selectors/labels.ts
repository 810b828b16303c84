/** Label selectors in the string form of the API (`a=b,c!=d,e in (f,g),!h,i`), parsed with the server's error messages. */
import { errors } from "../status";

export type LabelRequirement =
  | { op: "eq" | "neq"; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "notexists"; key: string };

export type LabelSelector = LabelRequirement[];

const keyRe = /^([A-Za-z0-9][-A-Za-z0-9_./]*)?[A-Za-z0-9]$/;

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(==|!=|=|!|,|\(|\)|[^\s=!,()]+)/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < input.length && (m = re.exec(input)) !== null) tokens.push(m[1] ?? "");
  return tokens;
}

export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input.trim());
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw errors.badRequest(`unable to parse requirement: ${msg}`);
  };
  while (i < tokens.length) {
    let tok = tokens[i++] ?? "";
    if (tok === "!") {
      const key = tokens[i++] ?? fail("found '', expected: identifier");
      if (!keyRe.test(key)) fail(`invalid label key "${key}"`);
      reqs.push({ op: "notexists", key });
    } else {
      if (!keyRe.test(tok)) fail(`found '${tok}', expected: !, identifier, or 'end of string'`);
      const key = tok;
      const next = tokens[i];
      if (next === undefined || next === ",") {
        reqs.push({ op: "exists", key });
      } else if (next === "=" || next === "==" || next === "!=") {
        i++;
        const valueTok = tokens[i];
        const value = valueTok === undefined || valueTok === "," ? "" : (i++, valueTok);
        reqs.push({ op: next === "!=" ? "neq" : "eq", key, value });
      } else if (next === "in" || next === "notin") {
        i++;
        if (tokens[i++] !== "(") fail(`found '${tokens[i - 1] ?? ""}', expected: '('`);
        const values: string[] = [];
        while ((tok = tokens[i++] ?? ")") !== ")") if (tok !== ",") values.push(tok);
        reqs.push({ op: next, key, values });
      } else {
        fail(`found '${next}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    const sep = tokens[i];
    if (sep !== undefined) {
      if (sep !== ",") fail(`found '${sep}', expected: ',' or 'end of string'`);
      i++;
    }
  }
  return reqs;
}

export function labelsMatch(selector: LabelSelector, labels: Record<string, string>): boolean {
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case "eq": return has && v === r.value;
      case "neq": return !has || v !== r.value;
      case "in": return has && r.values.includes(v ?? "");
      case "notin": return !has || !r.values.includes(v ?? "");
      case "exists": return has;
      case "notexists": return !has;
    }
  });
}
