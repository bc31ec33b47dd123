import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DROP_LOCK_TIMEOUT } from '../usage-partitions.js';

/** One preview as stored: whose request it belongs to, and its bytes. */
export interface UsageThumbnailRow {
  requestId: string;
  /** The image's position in the answer, from 0 (`data[i]`; a chat's images in the order of its choices). */
  index: number;
  team: string;
  apiKeyId: string | null;
  createdAt: Date;
  contentType: string;
  bytes: Buffer;
}

export interface StoredThumbnail {
  contentType: string;
  bytes: Buffer;
}

/**
 * `usage_thumbnails` (migration 1796415764925-UsageThumbnails), in SQL: previews are written once
 * and read by their key, so there is no entity. Keyed by (`request_id`, `index`, `team`): a request
 * id a client chose (`x-request-id`) may be another team's too, and then each team has its own.
 */
@Injectable()
export class UsageThumbnailRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a preview; a preview already stored under its key stays (the first request of an id reused keeps it). */
  async insert(row: UsageThumbnailRow): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO "usage_thumbnails" ("request_id", "index", "team", "api_key_id", "created_at", "content_type", "bytes")
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [row.requestId, row.index, row.team, row.apiKeyId, row.createdAt, row.contentType, row.bytes],
    );
  }

  /**
   * The preview of image `index` of request `requestId`: of `team` only when a team is given (an
   * API key's view), else of any team (the admin's; when teams share the id, the latest).
   */
  async find(requestId: string, index: number, team?: string): Promise<StoredThumbnail | undefined> {
    const rows = (await this.dataSource.query(
      `SELECT "content_type", "bytes" FROM "usage_thumbnails"
        WHERE "request_id" = $1 AND "index" = $2 AND ($3::varchar IS NULL OR "team" = $3)
        ORDER BY "created_at" DESC LIMIT 1`,
      [requestId, index, team ?? null],
    )) as Array<{ content_type: string; bytes: Buffer }>;
    const [row] = rows;
    return row ? { contentType: row.content_type, bytes: row.bytes } : undefined;
  }

  /**
   * Deletes up to `limit` previews made before `before`, in a transaction of its own that waits at
   * most `DROP_LOCK_TIMEOUT` for a lock (an operator's `LOCK TABLE`, an index being built): then it
   * fails with 55P03, as retention's partition drop does. Rows another instance is deleting are
   * skipped, not waited for. Resolves with how many went.
   */
  async deleteBatchCreatedBefore(before: Date, limit: number): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      const [{ count }] = (await manager.query(
        `WITH "gone" AS (
           DELETE FROM "usage_thumbnails" WHERE ctid IN (
             SELECT ctid FROM "usage_thumbnails" WHERE "created_at" < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT count(*)::int AS count FROM "gone"`,
        [before, limit],
      )) as Array<{ count: number }>;
      return count;
    });
  }
}
