import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { EaselRequest } from '../common/http/request-context.js';
import { AppConfig } from '../config/app.config.js';
import { TeamsModule } from '../teams/teams.module.js';
import { AdminBootstrapService } from './admin-bootstrap.service.js';
import { AdminKeyBanner } from './admin-key.banner.js';
import { AdminKeyRepository } from './admin-key.repository.js';
import { ApiKeyAuthenticator } from './api-key.authenticator.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeyResolver } from './api-key.resolver.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysService } from './api-keys.service.js';
import { AuthFailureLimiter } from './auth-failure.limiter.js';
import { KeyInvalidationBus } from './key-invalidation.bus.js';
import { KeyLastUsedTracker } from './key-last-used.tracker.js';
import { KeyThrottlerGuard } from './throttling/key-throttler.guard.js';
import { RateLimitStorage } from './throttling/rate-limit.storage.js';

@Module({ providers: [RateLimitStorage], exports: [RateLimitStorage] })
class RateLimitStorageModule {}

@Module({
  imports: [
    TypeOrmModule.forFeature([ApiKeyEntity]),
    TeamsModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [AppConfig, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => ({
        storage,
        // One counter per key across every route (the tracker is the key).
        generateKey: (_context, tracker) => tracker,
        throttlers: [
          {
            name: 'default',
            ttl: 60_000,
            limit: (context) => context.switchToHttp().getRequest<EaselRequest>().principal?.rpm ?? config.rateLimitRpm,
          },
        ],
      }),
    }),
  ],
  controllers: [ApiKeysController],
  providers: [
    AdminBootstrapService,
    AdminKeyBanner,
    AdminKeyRepository,
    ApiKeyAuthenticator,
    ApiKeysService,
    ApiKeyGuard,
    ApiKeyResolver,
    AuthFailureLimiter,
    KeyInvalidationBus,
    KeyLastUsedTracker,
    KeyThrottlerGuard,
  ],
  exports: [ApiKeysService, ApiKeyAuthenticator, ApiKeyGuard, ApiKeyResolver, KeyThrottlerGuard],
})
export class AuthModule {}
