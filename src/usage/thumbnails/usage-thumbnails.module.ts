import { Module } from '@nestjs/common';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { DEFAULT_THUMBNAIL_LIMITS, ThumbnailRecorder } from './thumbnail.recorder.js';
import { THUMBNAIL_LIMITS } from './thumbnails.tokens.js';
import { UsageThumbnailRepository } from './usage-thumbnail.repository.js';
import { UsageThumbnailsAdminController, UsageThumbnailsV1Controller } from './usage-thumbnails.controller.js';
import { UsageThumbnailsService } from './usage-thumbnails.service.js';

/**
 * The console's previews of generated images (CONSOLE_THUMBNAILS): `ThumbnailRecorder` for the
 * images and chat services, the two routes that serve them, and the repository whose old rows
 * usage retention deletes (`UsagePartitionMaintenance`). Imported and re-exported by `UsageModule`.
 */
@Module({
  imports: [MetricsModule],
  controllers: [UsageThumbnailsAdminController, UsageThumbnailsV1Controller],
  providers: [
    ThumbnailRecorder,
    UsageThumbnailRepository,
    UsageThumbnailsService,
    { provide: THUMBNAIL_LIMITS, useValue: DEFAULT_THUMBNAIL_LIMITS },
  ],
  exports: [ThumbnailRecorder, UsageThumbnailRepository],
})
export class UsageThumbnailsModule {}
