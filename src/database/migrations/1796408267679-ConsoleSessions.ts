import { MigrationInterface, QueryRunner } from "typeorm";

export class ConsoleSessions1796408267679 implements MigrationInterface {
    name = 'ConsoleSessions1796408267679'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "console_sessions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "token_sha256" character(64) NOT NULL, "key_hash" character(64) NOT NULL, "key_prefix" character varying(32) NOT NULL, "is_admin" boolean NOT NULL, "team" character varying(100) NOT NULL, "csrf_token" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_15fe3f1740801e7a0581dea8d49" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_console_sessions_token_sha256" ON "console_sessions"  ("token_sha256") `);
        await queryRunner.query(`CREATE INDEX "idx_console_sessions_expires_at" ON "console_sessions"  ("expires_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."idx_console_sessions_expires_at"`);
        await queryRunner.query(`DROP INDEX "public"."uq_console_sessions_token_sha256"`);
        await queryRunner.query(`DROP TABLE "console_sessions"`);
    }

}
