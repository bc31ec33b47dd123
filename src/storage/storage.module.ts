import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { AppConfig, type S3StoreConfig } from '../config/app.config.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ImageStore } from './image.store.js';
import { ImageFilesController } from './image-files.controller.js';
import { ImageUrlSigner } from './image-url.signer.js';
import { LocalObjectStorage } from './local.storage.js';
import { OBJECT_STORAGE, type ObjectStorage } from './object-storage.interface.js';

@Module({
  imports: [MetricsModule],
  controllers: [ImageFilesController],
  providers: [
    ImageUrlSigner,
    ImageStore,
    {
      provide: OBJECT_STORAGE,
      inject: [AppConfig],
      useFactory: (config: AppConfig): ObjectStorage | Promise<ObjectStorage> => {
        const maxAgeMs = config.storage.urlTtlSeconds * 1000;
        if (config.storage.s3) return s3Storage(config, config.storage.s3, maxAgeMs);
        return new LocalObjectStorage(join(config.dataDir, 'images'), maxAgeMs);
      },
    },
  ],
  exports: [ImageStore],
})
export class StorageModule {}

/**
 * The S3 store, its module imported only now (the AWS SDK is large and the local store needs none
 * of it). Keys given in Easel's environment (`.env` included, which the SDK does not read) are
 * used as they are; otherwise the SDK's default chain finds credentials (the process environment,
 * the shared files, SSO, container and instance roles).
 */
async function s3Storage(config: AppConfig, s3: S3StoreConfig, maxAgeMs: number): Promise<ObjectStorage> {
  const { S3ObjectStorage } = await import('./s3.storage.js');
  const accessKeyId = config.variable('AWS_ACCESS_KEY_ID');
  const secretAccessKey = config.variable('AWS_SECRET_ACCESS_KEY');
  const credentials =
    accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, sessionToken: config.variable('AWS_SESSION_TOKEN') }
      : undefined;
  return new S3ObjectStorage(s3, maxAgeMs, credentials);
}
