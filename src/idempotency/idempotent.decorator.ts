import { ApiHeader } from '@nestjs/swagger';

/** The route honours `Idempotency-Key` (its handler answers through `IdempotencyGate.run`), and its docs say so. */
export const Idempotent = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key and body within 24 h: the first result again, no second upstream call or charge (not with stream)',
  });
