import { ApiProperty } from '@nestjs/swagger';
import type { Principal } from '../../auth/principal.js';
import { StringField } from '../../common/validation/field.decorators.js';
import type { ConsoleSession } from '../console-session.store.js';

export class SignInDto {
  @StringField({
    description: 'An admin key (`ADMIN_API_KEY` or one made with `"admin": true`) or a team API key',
    example: 'sk-easel-AbCdEfGh0123456789AbCdEfGh0123456789AbCdEfG',
    required: true,
    min: 1,
    max: 1024,
  })
  key!: string;
}

export class ConsoleSessionResponse {
  @ApiProperty({
    enum: ['admin', 'team'],
    example: 'team',
    description: "`admin`: everything the admin API offers; `team`: the key's own team, read-only",
  })
  role!: 'admin' | 'team';

  @ApiProperty({ example: 'growth', description: "The key's team (as it is now)" })
  team!: string;

  @ApiProperty({ example: 'sk-easel-Q2x9bW1k', description: 'Safe-to-show start of the key that signed in' })
  key_prefix!: string;

  @ApiProperty({
    example: 'Vq3m0cJ8yqgP6n1wVv7bq0b1tQ2m8K3Zr4Xh5Jd6LfA',
    description: 'Send it in the `x-csrf-token` header of every change made with the session cookie',
  })
  csrf_token!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    example: '2026-11-24T22:00:00.000Z',
    description: 'When the session ends (sign in again then)',
  })
  expires_at!: string;

  static from(session: ConsoleSession, principal: Principal): ConsoleSessionResponse {
    return {
      role: principal.isAdmin ? 'admin' : 'team',
      team: principal.team,
      key_prefix: principal.prefix,
      csrf_token: session.csrfToken,
      expires_at: session.expiresAt.toISOString(),
    };
  }
}
