import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { RemoteImagesModule } from '../remote-images/remote-images.module.js';
import { StorageModule } from '../storage/storage.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { ImageEditBodyPipe } from './edits/image-edit.body.js';
import { MultipartFormReader } from './edits/multipart-form.reader.js';
import { ImageRequestValidator } from './image-request.validator.js';
import { ImagesController } from './images.controller.js';
import { ImagesService } from './images.service.js';

@Module({
  imports: [ProvidersModule, StorageModule, UsageModule, IdempotencyModule, RemoteImagesModule],
  controllers: [ImagesController],
  providers: [ImagesService, ImageRequestValidator, MultipartFormReader, ImageEditBodyPipe],
})
export class ImagesModule {}
