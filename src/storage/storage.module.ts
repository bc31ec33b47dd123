import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { ImageStore } from './image.store.js';
import { ImageFilesController } from './image-files.controller.js';
import { ImageUrlSigner } from './image-url.signer.js';
import { LocalObjectStorage } from './local.storage.js';
import { OBJECT_STORAGE, type ObjectStorage } from './object-storage.interface.js';

@Module({
  controllers: [ImageFilesController],
  providers: [
    ImageUrlSigner,
    ImageStore,
    {
      provide: OBJECT_STORAGE,
      inject: [AppConfig],
      useFactory: (config: AppConfig): ObjectStorage => {
        switch (config.storage.driver) {
          case 'local':
            return new LocalObjectStorage(join(config.dataDir, 'images'), config.storage.urlTtlSeconds * 1000);
          default:
            throw new Error(
              `IMAGE_STORE=${config.storage.driver} is not supported by this version of Easel; use IMAGE_STORE=local.`,
            );
        }
      },
    },
  ],
  exports: [ImageStore],
})
export class StorageModule {}
