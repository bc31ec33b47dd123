import { MigrationInterface, QueryRunner } from "typeorm";

export class IdempotencyLeases1796223977738 implements MigrationInterface {
    name = 'IdempotencyLeases1796223977738'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "idempotency_records" ADD "lease_owner" uuid`);
        await queryRunner.query(`ALTER TABLE "idempotency_records" ADD "lease_expires_at" TIMESTAMP WITH TIME ZONE`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "idempotency_records" DROP COLUMN "lease_expires_at"`);
        await queryRunner.query(`ALTER TABLE "idempotency_records" DROP COLUMN "lease_owner"`);
    }

}
