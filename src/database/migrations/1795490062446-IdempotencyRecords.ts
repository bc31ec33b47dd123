import { MigrationInterface, QueryRunner } from "typeorm";

export class IdempotencyRecords1795490062446 implements MigrationInterface {
    name = 'IdempotencyRecords1795490062446'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "idempotency_records" ("api_key_id" uuid NOT NULL, "idempotency_key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "state" character varying(16) NOT NULL, "response_body" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_ee3d69fcb388adfafb2f74821bf" PRIMARY KEY ("api_key_id", "idempotency_key"))`);
        await queryRunner.query(`CREATE INDEX "idx_idempotency_records_expires_at" ON "idempotency_records"  ("expires_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."idx_idempotency_records_expires_at"`);
        await queryRunner.query(`DROP TABLE "idempotency_records"`);
    }

}
