import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { RemoteImagesModule } from '../remote-images/remote-images.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { ChatController } from './chat.controller.js';
import { ChatService } from './chat.service.js';

@Module({
  imports: [ProvidersModule, UsageModule, IdempotencyModule, RemoteImagesModule],
  controllers: [ChatController],
  providers: [ChatService],
})
export class ChatModule {}
