import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import { CreatedAtColumn, TimestampColumn, UsdColumn } from '../database/columns.js';
import { TeamEntity } from '../teams/team.entity.js';

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Index('idx_api_keys_team')
  @Column({ type: 'varchar', length: 100 })
  team!: string;

  @ManyToOne(() => TeamEntity, { onDelete: 'NO ACTION', onUpdate: 'CASCADE' })
  @JoinColumn({ name: 'team', referencedColumnName: 'name', foreignKeyConstraintName: 'fk_api_keys_team' })
  teamRef?: Relation<TeamEntity>;

  /** The first characters of the key, safe to display (`sk-easel-AbCd1234`). */
  @Column({ type: 'varchar', length: 32 })
  prefix!: string;

  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  @Index('uq_api_keys_key_hash', { unique: true })
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  @Column({ name: 'is_admin', type: 'boolean', default: false })
  isAdmin!: boolean;

  /** Model ids this key may call; null = every model. */
  @Column({ name: 'allowed_models', type: 'jsonb', nullable: true })
  allowedModels!: string[] | null;

  /** Requests per minute; null = RATE_LIMIT_RPM. */
  @Column({ type: 'integer', nullable: true })
  rpm!: number | null;

  /** USD per calendar month (UTC), numeric; null = no key budget. */
  @UsdColumn('monthly_budget_usd', { nullable: true })
  monthlyBudgetUsd!: string | null;

  @TimestampColumn('last_used_at', { nullable: true })
  lastUsedAt!: Date | null;

  @TimestampColumn('expires_at', { nullable: true })
  expiresAt!: Date | null;

  @TimestampColumn('revoked_at', { nullable: true })
  revokedAt!: Date | null;

  @CreatedAtColumn()
  createdAt!: Date;
}
