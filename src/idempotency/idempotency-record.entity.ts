import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CreatedAtColumn, TimestampColumn } from '../database/columns.js';

/**
 * The first answer to a request sent with an `Idempotency-Key`, per API key, for 24 hours:
 * `pending` while the first request runs, then `done` with its response. A pending record is
 * leased to the request running it, which renews the lease while it works; a lease that runs out
 * (its instance died) lets the next request with the key take the work over.
 */
@Entity('idempotency_records')
@Index('idx_idempotency_records_expires_at', ['expiresAt'])
export class IdempotencyRecordEntity {
  @PrimaryColumn({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @PrimaryColumn({ name: 'idempotency_key', type: 'varchar', length: 255 })
  idempotencyKey!: string;

  /** SHA-256 of the endpoint and the request body: the same key with another body is a conflict. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: 'pending' | 'done';

  @Column({ name: 'response_body', type: 'jsonb', nullable: true })
  responseBody!: unknown;

  /** The attempt running a pending request (a random id per claim); null once done. */
  @Column({ name: 'lease_owner', type: 'uuid', nullable: true })
  leaseOwner!: string | null;

  /** Until when the pending request's owner is taken to be alive; null once done. */
  @TimestampColumn('lease_expires_at', { nullable: true })
  leaseExpiresAt!: Date | null;

  @CreatedAtColumn()
  createdAt!: Date;

  @TimestampColumn('expires_at')
  expiresAt!: Date;
}
