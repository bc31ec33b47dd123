import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyRecordEntity } from './idempotency-record.entity.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyRepository } from './idempotency.repository.js';

@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyRecordEntity])],
  providers: [IdempotencyRepository, IdempotencyInterceptor],
  // The interceptor is instantiated where it is used (@UseInterceptors), so its collaborators go along.
  exports: [IdempotencyInterceptor, IdempotencyRepository],
})
export class IdempotencyModule {}
