import { MigrationInterface, QueryRunner } from "typeorm";

export class UsageInputImages1796304679404 implements MigrationInterface {
    name = 'UsageInputImages1796304679404'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "usage_records" ADD "input_images" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "usage_records" ADD "input_image_bytes" integer NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "usage_records" DROP COLUMN "input_image_bytes"`);
        await queryRunner.query(`ALTER TABLE "usage_records" DROP COLUMN "input_images"`);
    }

}
