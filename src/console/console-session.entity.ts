import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn, TimestampColumn } from '../database/columns.js';

/**
 * A console sign-in: the `easel_session` cookie's token (only its hash is stored) standing for the
 * key it was exchanged for. The key is not copied: every request resolves it again by its hash, so
 * revoking or expiring the key ends its sessions too. Rows are deleted once past `expires_at`.
 */
@Entity('console_sessions')
@Index('idx_console_sessions_expires_at', ['expiresAt'])
export class ConsoleSessionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** SHA-256 of the cookie's token, hex. The token itself is never stored. */
  @Index('uq_console_sessions_token_sha256', { unique: true })
  @Column({ name: 'token_sha256', type: 'char', length: 64 })
  tokenSha256!: string;

  /** `api_keys.key_hash` of the key that signed in (or the hash of `ADMIN_API_KEY`, which has no row). */
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  /** The key's display prefix when it signed in, for operators reading the table. */
  @Column({ name: 'key_prefix', type: 'varchar', length: 32 })
  keyPrefix!: string;

  /** What the key was when it signed in; each request goes by what it is now. */
  @Column({ name: 'is_admin', type: 'boolean' })
  isAdmin!: boolean;

  @Column({ type: 'varchar', length: 100 })
  team!: string;

  /** Sent back in `x-csrf-token` by every change made with the cookie (base64url, 32 random bytes). */
  @Column({ name: 'csrf_token', type: 'varchar', length: 64 })
  csrfToken!: string;

  @CreatedAtColumn()
  createdAt!: Date;

  @TimestampColumn('expires_at')
  expiresAt!: Date;

  @TimestampColumn('revoked_at', { nullable: true })
  revokedAt!: Date | null;
}
