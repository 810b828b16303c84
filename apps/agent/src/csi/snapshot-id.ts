/** CSI snapshot ids are `<volume>/<snapshot>`: both parts are engine names, which hold no '/'. */
export function snapshotId(volume: string, snapshot: string): string {
  return `${volume}/${snapshot}`;
}

export function parseSnapshotId(id: string): { volume: string; snapshot: string } | null {
  const parts = id.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
  return { volume: parts[0], snapshot: parts[1] };
}
