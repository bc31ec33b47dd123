import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BudgetSpendModule } from '../budgets/budget-spend.module.js';
import { ConsoleSessionsModule } from '../console/console-sessions.module.js';
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
import { KeyRateLimiter } from './throttling/key-rate-limiter.js';
import { RateLimitStorage } from './throttling/rate-limit.storage.js';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), TeamsModule, BudgetSpendModule, ConsoleSessionsModule],
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
    KeyRateLimiter,
    RateLimitStorage,
  ],
  exports: [ApiKeysService, ApiKeyAuthenticator, ApiKeyGuard, ApiKeyResolver],
})
export class AuthModule {}
