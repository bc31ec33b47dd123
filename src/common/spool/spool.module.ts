import { Global, Injectable, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ByteSpool } from './byte-spool.js';

/**
 * The spool's gauges. Apart from `ByteSpool` itself, which needs only the config: the metrics
 * read the upstream executor's circuits, whose adapters hold the spool.
 */
@Injectable()
export class SpoolMetrics {
  constructor(spool: ByteSpool, metrics: MetricsService) {
    const files = metrics.counter(
      'easel_spool_files_total',
      'Images whose base64 went to a temporary file because SPOOL_THRESHOLD_BYTES was reached',
    );
    spool.onFileCreated = () => files.inc();
    metrics.gauge(
      'easel_spool_memory_bytes',
      'Upstream image data held in memory by the requests in flight (at most SPOOL_THRESHOLD_BYTES)',
      () => spool.memoryBytes,
    );
  }
}

/** The one `ByteSpool` of the app (`SPOOL_THRESHOLD_BYTES`), with its metrics. */
@Global()
@Module({
  imports: [MetricsModule],
  providers: [
    { provide: ByteSpool, inject: [AppConfig], useFactory: (config: AppConfig) => new ByteSpool(config.spool) },
    SpoolMetrics,
  ],
  exports: [ByteSpool],
})
export class SpoolModule {}
