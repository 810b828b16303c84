/** Typed calls of the group snapshot routes (group-snapshot-api.ts) through an admin client. */
import type { AdminClient } from "../admin/client";
import { groupSnapshotApi, type CreateGroupSnapshotRequest, type GroupSnapshotDto } from "./group-snapshot-api";

export class GroupSnapshotClient {
  constructor(private readonly admin: AdminClient) {}

  /** Takes the group at one crash-consistent point; the answer lists each volume's snapshot and the measured pause. */
  create(request: CreateGroupSnapshotRequest): Promise<GroupSnapshotDto> {
    return this.admin.call(groupSnapshotApi.create, { body: request });
  }

  async list(): Promise<GroupSnapshotDto[]> {
    return (await this.admin.call(groupSnapshotApi.list)).items;
  }

  get(name: string): Promise<GroupSnapshotDto> {
    return this.admin.call(groupSnapshotApi.get, { params: { group: name } });
  }

  /** Deletes each volume's snapshot, then the group. */
  async delete(name: string): Promise<void> {
    await this.admin.call(groupSnapshotApi.delete, { params: { group: name } });
  }
}
