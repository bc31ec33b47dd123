import { MigrationInterface, QueryRunner } from "typeorm";

export class KeyLimitsAndBudgets1795487870877 implements MigrationInterface {
    name = 'KeyLimitsAndBudgets1795487870877'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "budget_spend" ("scope" character varying(150) NOT NULL, "month" date NOT NULL, "spent" numeric(20,12) NOT NULL DEFAULT '0', "reserved" numeric(20,12) NOT NULL DEFAULT '0', CONSTRAINT "PK_0e4f997a533bf73b27c2c856da2" PRIMARY KEY ("scope", "month"))`);
        await queryRunner.query(`ALTER TABLE "api_keys" ADD "rpm" integer`);
        await queryRunner.query(`ALTER TABLE "api_keys" ADD "monthly_budget_usd" numeric(20,12)`);
        await queryRunner.query(`ALTER TABLE "api_keys" ADD "last_used_at" TIMESTAMP WITH TIME ZONE`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "last_used_at"`);
        await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "monthly_budget_usd"`);
        await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "rpm"`);
        await queryRunner.query(`DROP TABLE "budget_spend"`);
    }

}
