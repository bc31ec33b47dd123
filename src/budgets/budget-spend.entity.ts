import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Money committed against one budget in one calendar month (UTC): `spent` is settled cost,
 * `reserved` the estimates of requests still running. A request is admitted only if
 * spent + reserved + its estimate stays within the budget, in one atomic statement.
 */
@Entity('budget_spend')
export class BudgetSpendEntity {
  /** `key:<uuid>` or `team:<name>`. */
  @PrimaryColumn({ type: 'varchar', length: 150 })
  scope!: string;

  /** The first day of the month. */
  @PrimaryColumn({ type: 'date' })
  month!: string;

  @Column({ type: 'numeric', precision: 20, scale: 12, default: 0 })
  spent!: string;

  @Column({ type: 'numeric', precision: 20, scale: 12, default: 0 })
  reserved!: string;
}
