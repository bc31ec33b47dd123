import { MigrationInterface, QueryRunner } from "typeorm";

export class UsageServedModel1796315561029 implements MigrationInterface {
    name = 'UsageServedModel1796315561029'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "usage_records" ADD "served_model" character varying(200)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "usage_records" DROP COLUMN "served_model"`);
    }

}
