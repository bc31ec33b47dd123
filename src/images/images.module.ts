import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { StorageModule } from '../storage/storage.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { ImageRequestValidator } from './image-request.validator.js';
import { ImagesController } from './images.controller.js';
import { ImagesService } from './images.service.js';

@Module({
  imports: [ProvidersModule, StorageModule, UsageModule, IdempotencyModule],
  controllers: [ImagesController],
  providers: [ImagesService, ImageRequestValidator],
})
export class ImagesModule {}
