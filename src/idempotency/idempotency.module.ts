import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyGate } from './idempotency.gate.js';
import { IdempotencyStore } from './idempotency.store.js';
import { IdempotencyRecordEntity } from './idempotency-record.entity.js';

@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyRecordEntity])],
  providers: [IdempotencyStore, IdempotencyGate],
  exports: [IdempotencyGate],
})
export class IdempotencyModule {}
