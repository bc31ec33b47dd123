import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `usage_thumbnails`: with CONSOLE_THUMBNAILS=true, a small WebP preview (128 px on its longest
 * side) of each image a request generated, for the console's request log. Keyed by the usage
 * record's `request_id`, the image's position in the answer and the team: request ids can come
 * from the client (`x-request-id`), so two teams may use the same one, and neither can overwrite
 * or read the other's preview. `created_at` serves USAGE_RETENTION_MONTHS (previews go with the
 * months of usage records; src/usage/usage-partition.maintenance.ts). The bytes are WebP already:
 * stored out of line without a compression attempt (`EXTERNAL`). No entity: the table is written
 * and read by src/usage/thumbnails/usage-thumbnail.repository.ts in SQL. Written by hand.
 */
export class UsageThumbnails1796415764925 implements MigrationInterface {
  name = 'UsageThumbnails1796415764925';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "usage_thumbnails" ("request_id" character varying(128) NOT NULL, "index" smallint NOT NULL, "team" character varying(100) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "api_key_id" uuid, "content_type" character varying(32) NOT NULL, "bytes" bytea NOT NULL, CONSTRAINT "pk_usage_thumbnails" PRIMARY KEY ("request_id", "index", "team"), CONSTRAINT "chk_usage_thumbnails_index" CHECK ("index" >= 0))`,
    );
    await queryRunner.query(`ALTER TABLE "usage_thumbnails" ALTER COLUMN "bytes" SET STORAGE EXTERNAL`);
    await queryRunner.query(`CREATE INDEX "idx_usage_thumbnails_created_at" ON "usage_thumbnails" ("created_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_usage_thumbnails_created_at"`);
    await queryRunner.query(`DROP TABLE "usage_thumbnails"`);
  }
}
