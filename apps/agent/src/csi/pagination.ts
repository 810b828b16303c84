/**
 * Pagination of List* RPCs: the token is the offset of the next entry in the
 * list sorted by id. A token that is not one we could have given (not a
 * number, past the end) is ABORTED, as the spec asks.
 */
import { aborted } from "./errors";

export interface Page<T> {
  items: T[];
  nextToken: string;
}

export function paginate<T>(sorted: readonly T[], maxEntries: number, startingToken: string): Page<T> {
  let start = 0;
  if (startingToken !== "") {
    if (!/^\d{1,9}$/.test(startingToken) || Number(startingToken) > sorted.length) throw aborted(`starting_token ${startingToken} is not valid (the list may have changed): list again from the start`);
    start = Number(startingToken);
  }
  const end = maxEntries > 0 ? Math.min(sorted.length, start + maxEntries) : sorted.length;
  return { items: sorted.slice(start, end), nextToken: end < sorted.length ? String(end) : "" };
}
