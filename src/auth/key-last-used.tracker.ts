import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity.js';

/** last_used_at is written at most this often per key (a write per request would be waste). */
const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_TRACKED_KEYS = 10_000;

/** Keeps `api_keys.last_used_at` current, off the request path and at most once a minute per key and instance. */
@Injectable()
export class KeyLastUsedTracker {
  /** key id → when last_used_at was last written by this instance. */
  private readonly lastWrites = new LRUCache<string, number>({ max: MAX_TRACKED_KEYS });

  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  /** Notes that `keyId` was used now; never waits for PostgreSQL, and a failed write is tried again at the next use. */
  noteUse(keyId: string): void {
    const now = Date.now();
    if ((this.lastWrites.get(keyId) ?? 0) > now - LAST_USED_RESOLUTION_MS) return;
    this.lastWrites.set(keyId, now);
    // Fire and forget: the request does not wait for this write, and its failure only means a retry.
    void this.keys.update({ id: keyId }, { lastUsedAt: new Date(now) }).catch(() => this.lastWrites.delete(keyId));
  }
}
