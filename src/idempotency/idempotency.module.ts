import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyStore } from './idempotency.store.js';
import { IdempotencyRecordEntity } from './idempotency-record.entity.js';

@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyRecordEntity])],
  providers: [IdempotencyStore, IdempotencyInterceptor],
  // The interceptor is instantiated where it is used (@UseInterceptors), so its collaborators go along.
  exports: [IdempotencyInterceptor, IdempotencyStore],
})
export class IdempotencyModule {}
