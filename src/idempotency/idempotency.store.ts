import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { IdempotencyRecordEntity } from './idempotency-record.entity.js';

export interface IdempotencyId {
  apiKeyId: string;
  idempotencyKey: string;
}

/** How long the first answer is kept. */
const TTL = `interval '24 hours'`;
/**
 * A pending record written before leases existed (lease_expires_at null) counts as alive this
 * long after its creation: long enough for the request that wrote it to have ended.
 */
const LEGACY_LEASE = `interval '1 hour'`;

/**
 * Where `Idempotency-Key` claims, leases and first answers live (table `idempotency_records`).
 * Times are the database's (`now()`), so instances whose clocks disagree still agree on when a
 * lease has run out.
 */
@Injectable()
export class IdempotencyStore {
  constructor(
    @InjectRepository(IdempotencyRecordEntity) private readonly records: Repository<IdempotencyRecordEntity>,
  ) {}

  /**
   * Claims the key for `owner`, leased for `leaseMs`: a new key, an answer past its 24 h, or a
   * pending request with the same hash whose lease has run out (its instance died). One statement
   * per case with the condition in its WHERE, so of requests racing for the key one wins.
   * Returns whether it did.
   */
  async claim(id: IdempotencyId, requestHash: string, owner: string, leaseMs: number): Promise<boolean> {
    const inserted: unknown[] = await this.records.query(
      `INSERT INTO idempotency_records (api_key_id, idempotency_key, request_hash, state, lease_owner, lease_expires_at, expires_at)
       VALUES ($1, $2, $3, 'pending', $4, now() + $5 * interval '1 millisecond', now() + ${TTL})
       ON CONFLICT (api_key_id, idempotency_key) DO NOTHING
       RETURNING 1`,
      [id.apiKeyId, id.idempotencyKey, requestHash, owner, leaseMs],
    );
    if (inserted.length > 0) return true;
    const [taken] = (await this.records.query(
      `UPDATE idempotency_records
          SET request_hash = $3, state = 'pending', response_body = NULL, lease_owner = $4,
              lease_expires_at = now() + $5 * interval '1 millisecond', created_at = now(), expires_at = now() + ${TTL}
        WHERE api_key_id = $1 AND idempotency_key = $2
          AND (expires_at < now()
               OR (state = 'pending' AND request_hash = $3 AND coalesce(lease_expires_at, created_at + ${LEGACY_LEASE}) < now()))
       RETURNING 1`,
      [id.apiKeyId, id.idempotencyKey, requestHash, owner, leaseMs],
    )) as [unknown[], number];
    return taken.length > 0;
  }

  /** The record as it is now, if any. */
  find(id: IdempotencyId): Promise<Pick<IdempotencyRecordEntity, 'requestHash' | 'state' | 'responseBody'> | null> {
    return this.records.findOne({ select: { requestHash: true, state: true, responseBody: true }, where: id });
  }

  /** Extends `owner`'s lease; false when it no longer holds it (taken over, or gone). */
  async renewLease(id: IdempotencyId, owner: string, leaseMs: number): Promise<boolean> {
    const [renewed] = (await this.records.query(
      `UPDATE idempotency_records SET lease_expires_at = now() + $4 * interval '1 millisecond'
        WHERE api_key_id = $1 AND idempotency_key = $2 AND lease_owner = $3 AND state = 'pending'
       RETURNING 1`,
      [id.apiKeyId, id.idempotencyKey, owner, leaseMs],
    )) as [unknown[], number];
    return renewed.length > 0;
  }

  /** Stores `owner`'s answer; false when it no longer holds the lease (another request's answer will be kept). */
  async complete(id: IdempotencyId, owner: string, responseBody: unknown): Promise<boolean> {
    const [completed] = (await this.records.query(
      `UPDATE idempotency_records SET state = 'done', response_body = $4::jsonb, lease_owner = NULL, lease_expires_at = NULL
        WHERE api_key_id = $1 AND idempotency_key = $2 AND lease_owner = $3
       RETURNING 1`,
      [id.apiKeyId, id.idempotencyKey, owner, JSON.stringify(responseBody)],
    )) as [unknown[], number];
    return completed.length > 0;
  }

  /** Forgets `owner`'s claim (its request failed), so the key can be retried. */
  async release(id: IdempotencyId, owner: string): Promise<void> {
    await this.records.query(
      `DELETE FROM idempotency_records WHERE api_key_id = $1 AND idempotency_key = $2 AND lease_owner = $3`,
      [id.apiKeyId, id.idempotencyKey, owner],
    );
  }

  /** Deletes the answers past their 24 h (they can hold whole images). */
  async deleteExpired(): Promise<void> {
    await this.records.query(`DELETE FROM idempotency_records WHERE expires_at < now()`);
  }
}
