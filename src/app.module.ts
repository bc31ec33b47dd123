import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import type { DestinationStream } from 'pino';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { AuthModule } from './auth/auth.module.js';
import { ChatModule } from './chat/chat.module.js';
import { OpenAiErrorFilter } from './common/errors/openai-error.filter.js';
import { SpoolModule } from './common/spool/spool.module.js';
import { RequestValidationPipe } from './common/validation/validation.pipe.js';
import { AppConfig } from './config/app.config.js';
import { ConfigModule } from './config/config.module.js';
import { ConsoleModule } from './console/console.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { HttpEdgeModule } from './http/http-edge.module.js';
import { ImagesModule } from './images/images.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { ModelsModule } from './models/models.module.js';
import { ProvidersModule } from './providers/providers.module.js';
import { RedisModule } from './redis/redis.module.js';
import { StorageModule } from './storage/storage.module.js';
import { UsageModule } from './usage/usage.module.js';

@Module({
  imports: [
    SpoolModule,
    DatabaseModule,
    RedisModule,
    AuthModule,
    ProvidersModule,
    StorageModule,
    UsageModule,
    ImagesModule,
    ChatModule,
    ModelsModule,
    ConsoleModule,
    HealthModule,
    HttpEdgeModule,
  ],
  providers: [
    // Order matters: who is calling, then how often.
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
    { provide: APP_PIPE, useClass: RequestValidationPipe },
    { provide: APP_FILTER, useClass: OpenAiErrorFilter },
  ],
})
export class AppModule {
  /**
   * The application for one validated configuration (the process env in `main.ts`, fakes in
   * tests); logs go to stdout unless another destination is given.
   */
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(config, logDestination)],
    };
  }
}
