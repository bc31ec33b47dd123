import { MigrationInterface, QueryRunner } from "typeorm";

export class UsageTeamsPricing1795485802472 implements MigrationInterface {
    name = 'UsageTeamsPricing1795485802472'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "teams" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(100) NOT NULL, "monthly_budget_usd" numeric(20,12), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_7e5523774a38b08a6236d322403" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_teams_name" ON "teams"  ("name") `);
        // Keys already name their team: make those teams real, plus the "default" team.
        await queryRunner.query(`INSERT INTO "teams" ("name") SELECT DISTINCT "team" FROM "api_keys" UNION SELECT 'default' ON CONFLICT DO NOTHING`);
        await queryRunner.query(`ALTER TABLE "api_keys" ADD CONSTRAINT "fk_api_keys_team" FOREIGN KEY ("team") REFERENCES "teams"("name") ON DELETE NO ACTION ON UPDATE CASCADE`);
        await queryRunner.query(`CREATE TABLE "price_versions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "model" character varying(200) NOT NULL, "version" integer NOT NULL, "effective_from" TIMESTAMP WITH TIME ZONE NOT NULL, "source" character varying(16) NOT NULL, "input_text_per_mtok" numeric(18,6) NOT NULL, "input_text_cached_per_mtok" numeric(18,6) NOT NULL, "input_image_per_mtok" numeric(18,6) NOT NULL, "input_image_cached_per_mtok" numeric(18,6) NOT NULL, "output_text_per_mtok" numeric(18,6) NOT NULL, "output_image_per_mtok" numeric(18,6) NOT NULL, "per_image" numeric(18,6) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5ad9b129b967c6c92411ea523b3" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_price_versions_model_version" ON "price_versions"  ("model", "version") `);
        await queryRunner.query(`CREATE TABLE "usage_records" ("id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "request_id" character varying(128) NOT NULL, "api_key_id" uuid, "team" character varying(100) NOT NULL, "endpoint" character varying(32) NOT NULL, "model" character varying(200), "provider" character varying(32), "route" character varying(100), "status" character varying(16) NOT NULL, "http_status" smallint NOT NULL, "error_code" character varying(64), "latency_ms" integer NOT NULL, "upstream_latency_ms" integer, "images" integer NOT NULL DEFAULT '0', "size" character varying(32), "quality" character varying(16), "input_text_tokens" integer NOT NULL DEFAULT '0', "input_image_tokens" integer NOT NULL DEFAULT '0', "cached_input_tokens" integer NOT NULL DEFAULT '0', "output_text_tokens" integer NOT NULL DEFAULT '0', "output_image_tokens" integer NOT NULL DEFAULT '0', "input_tokens" integer NOT NULL DEFAULT '0', "output_tokens" integer NOT NULL DEFAULT '0', "cost_usd" numeric(20,12) NOT NULL DEFAULT '0', "price_version" integer, "user" character varying(256), "prompt_sha256" character(64), "prompt_length" integer, "prompt_text" text, CONSTRAINT "PK_e511cf9f7dc53851569f87467a5" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_usage_records_request_id" ON "usage_records"  ("request_id") `);
        await queryRunner.query(`CREATE INDEX "idx_usage_records_model_created_at" ON "usage_records"  ("model", "created_at") `);
        await queryRunner.query(`CREATE INDEX "idx_usage_records_team_created_at" ON "usage_records"  ("team", "created_at") `);
        await queryRunner.query(`CREATE INDEX "idx_usage_records_api_key_created_at" ON "usage_records"  ("api_key_id", "created_at") `);
        await queryRunner.query(`CREATE INDEX "idx_usage_records_created_at" ON "usage_records"  ("created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."idx_usage_records_created_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_usage_records_api_key_created_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_usage_records_team_created_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_usage_records_model_created_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_usage_records_request_id"`);
        await queryRunner.query(`DROP TABLE "usage_records"`);
        await queryRunner.query(`DROP INDEX "public"."uq_price_versions_model_version"`);
        await queryRunner.query(`DROP TABLE "price_versions"`);
        await queryRunner.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "fk_api_keys_team"`);
        await queryRunner.query(`DROP INDEX "public"."uq_teams_name"`);
        await queryRunner.query(`DROP TABLE "teams"`);
    }

}
