import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `usage_records` becomes a table partitioned by month of `created_at` (declarative, one
 * partition per UTC month, named `usage_records_yYYYYmMM`), keyed by (`created_at`, `id`): new
 * keys go to the right edge of the index, which also serves the time order its own index served;
 * and `usage_daily_rollups` sums it by
 * day × key × team × endpoint × model × provider × status for the reports. The rows are moved
 * (one partition per month they span) and the rollups built from them, in this migration's
 * transaction. Partitions for the months ahead are the app's (src/usage/usage-partitions.ts). A
 * day's rollup rows are updated by every batch of that day: pages keep room for HOT updates.
 * Written by hand: TypeORM does not generate partitioned tables.
 */
export class UsagePartitionsAndRollups1796400000000 implements MigrationInterface {
  name = 'UsagePartitionsAndRollups1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "usage_records" RENAME TO "usage_records_unpartitioned"`);
    for (const index of INDEXES) await queryRunner.query(`DROP INDEX "${index.name}"`);
    await queryRunner.query(
      `CREATE TABLE "usage_records" (LIKE "usage_records_unpartitioned" INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE ("created_at")`,
    );
    // Only the months that hold records (a stray date must not make a partition per month between).
    const months = (await queryRunner.query(
      `SELECT DISTINCT to_char(date_trunc('month', "created_at" AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS month
         FROM "usage_records_unpartitioned" ORDER BY 1`,
    )) as Array<{ month: string }>;
    for (const { month } of months) {
      const [year, monthOfYear] = month.split('-');
      await queryRunner.query(
        `CREATE TABLE "usage_records_y${year}m${monthOfYear}" PARTITION OF "usage_records" FOR VALUES FROM ('${month} 00:00:00+00') TO (('${month}'::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')`,
      );
    }
    // The rows first, the key and indexes after: built once, not row by row.
    await queryRunner.query(`INSERT INTO "usage_records" SELECT * FROM "usage_records_unpartitioned"`);
    await queryRunner.query(`DROP TABLE "usage_records_unpartitioned"`);
    await queryRunner.query(
      `ALTER TABLE "usage_records" ADD CONSTRAINT "pk_usage_records" PRIMARY KEY ("created_at", "id")`,
    );
    for (const index of PARTITIONED_INDEXES) {
      await queryRunner.query(`CREATE INDEX "${index.name}" ON "usage_records" (${index.columns})`);
    }

    // "id" (last, so that positional INSERTs of the other columns leave it to its identity) is the
    // replica identity logical replication and change capture need for the writer's updates.
    await queryRunner.query(
      `CREATE TABLE "usage_daily_rollups" ("day" date NOT NULL, "api_key_id" uuid, "team" character varying(100) NOT NULL, "endpoint" character varying(32) NOT NULL, "model" character varying(200), "provider" character varying(32), "status" character varying(16) NOT NULL, "requests" bigint NOT NULL, "images" bigint NOT NULL, "input_tokens" bigint NOT NULL, "output_tokens" bigint NOT NULL, "cost_usd" numeric(24,12) NOT NULL, "id" bigint GENERATED ALWAYS AS IDENTITY, CONSTRAINT "pk_usage_daily_rollups" PRIMARY KEY ("id")) WITH (fillfactor = 70)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_usage_daily_rollups" ON "usage_daily_rollups" ("day", "api_key_id", "team", "endpoint", "model", "provider", "status") NULLS NOT DISTINCT`,
    );
    await queryRunner.query(
      `INSERT INTO "usage_daily_rollups" SELECT ("created_at" AT TIME ZONE 'UTC')::date, "api_key_id", "team", "endpoint", "model", "provider", "status", count(*), sum("images"), sum("input_tokens"), sum("output_tokens"), sum("cost_usd") FROM "usage_records" GROUP BY 1, 2, 3, 4, 5, 6, 7`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "usage_daily_rollups"`);
    await queryRunner.query(`ALTER TABLE "usage_records" RENAME TO "usage_records_partitioned"`);
    for (const index of PARTITIONED_INDEXES) await queryRunner.query(`DROP INDEX "${index.name}"`);
    await queryRunner.query(
      `CREATE TABLE "usage_records" (LIKE "usage_records_partitioned" INCLUDING DEFAULTS INCLUDING CONSTRAINTS, CONSTRAINT "PK_e511cf9f7dc53851569f87467a5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`INSERT INTO "usage_records" SELECT * FROM "usage_records_partitioned"`);
    await queryRunner.query(`DROP TABLE "usage_records_partitioned"`);
    for (const index of INDEXES) {
      await queryRunner.query(`CREATE INDEX "${index.name}" ON "usage_records" (${index.columns})`);
    }
  }
}

/** The indexes of the table before; on the partitioned table, the key (`created_at`, `id`) serves time order. */
const INDEXES = [
  { name: 'idx_usage_records_request_id', columns: '"request_id"' },
  { name: 'idx_usage_records_model_created_at', columns: '"model", "created_at"' },
  { name: 'idx_usage_records_team_created_at', columns: '"team", "created_at"' },
  { name: 'idx_usage_records_api_key_created_at', columns: '"api_key_id", "created_at"' },
  { name: 'idx_usage_records_created_at', columns: '"created_at"' },
];
const PARTITIONED_INDEXES = INDEXES.filter((index) => index.name !== 'idx_usage_records_created_at');
