import { MigrationInterface, QueryRunner } from "typeorm";

export class InitialSchema1795485210429 implements MigrationInterface {
    name = 'InitialSchema1795485210429'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(200) NOT NULL, "team" character varying(100) NOT NULL, "prefix" character varying(32) NOT NULL, "key_hash" character(64) NOT NULL, "is_admin" boolean NOT NULL DEFAULT false, "allowed_models" jsonb, "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_api_keys_team" ON "api_keys"  ("team") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_keys_key_hash" ON "api_keys"  ("key_hash") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."uq_api_keys_key_hash"`);
        await queryRunner.query(`DROP INDEX "public"."idx_api_keys_team"`);
        await queryRunner.query(`DROP TABLE "api_keys"`);
    }

}
