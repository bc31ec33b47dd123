import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/** The route honours `Idempotency-Key` (see `IdempotencyInterceptor`), and its docs say so. */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Same key and body within 24 h: the first result again, no second upstream call or charge (not with stream)',
    }),
  );
