import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The team the migration that created `teams` seeds; the bootstrap admin key belongs to it. */
export const DEFAULT_TEAM = 'default';

@Entity('teams')
export class TeamEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('uq_teams_name', { unique: true })
  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** USD per calendar month, numeric; null = no budget. */
  @Column({ name: 'monthly_budget_usd', type: 'numeric', precision: 20, scale: 12, nullable: true })
  monthlyBudgetUsd!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
