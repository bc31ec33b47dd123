import { Column, type ColumnOptions, CreateDateColumn } from 'typeorm';

/*
 * Column kinds that recur across the entities, named for what they hold. Each is exactly the
 * `@Column` it stands for (the options the migrations were generated from), so using one changes
 * no schema and needs no migration.
 */

/** A moment, always with its zone (`timestamptz`). */
export function TimestampColumn(name: string, options: Pick<ColumnOptions, 'nullable'> = {}): PropertyDecorator {
  return Column({ name, type: 'timestamptz', ...options });
}

/** When the row was inserted (`created_at`), set by PostgreSQL. */
export function CreatedAtColumn(): PropertyDecorator {
  return CreateDateColumn({ name: 'created_at', type: 'timestamptz' });
}

/** A count of what a call used or made (tokens of one kind, images); 0 where there was none. */
export function CountColumn(name: string): PropertyDecorator {
  return Column({ name, type: 'integer', default: 0 });
}

/** An amount of USD, exact: `numeric(20,12)`, read as a decimal string (never a float). */
export function UsdColumn(name: string, options: Pick<ColumnOptions, 'nullable' | 'default'> = {}): PropertyDecorator {
  return Column({ name, type: 'numeric', precision: 20, scale: 12, ...options });
}

/** A price in USD per unit (a million tokens, an image), exact: `numeric(18,6)`, a decimal string. */
export function UsdPriceColumn(name: string): PropertyDecorator {
  return Column({ name, type: 'numeric', precision: 18, scale: 6 });
}
