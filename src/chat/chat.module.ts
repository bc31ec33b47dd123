import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { ChatController } from './chat.controller.js';
import { ChatService } from './chat.service.js';
import { RemoteImageFetcher } from './remote-image.fetcher.js';

@Module({
  imports: [ProvidersModule, UsageModule, IdempotencyModule],
  controllers: [ChatController],
  providers: [ChatService, RemoteImageFetcher],
})
export class ChatModule {}
