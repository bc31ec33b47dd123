import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ByteSpool } from './byte-spool.js';

/** The one `ByteSpool` of the app (`SPOOL_THRESHOLD_BYTES`), with its gauges. */
@Global()
@Module({
  imports: [MetricsModule],
  providers: [
    {
      provide: ByteSpool,
      inject: [AppConfig, MetricsService],
      useFactory: (config: AppConfig, metrics: MetricsService) => {
        const files = metrics.counter(
          'easel_spool_files_total',
          'Temporary files made for upstream image data past SPOOL_THRESHOLD_BYTES',
        );
        const spool = new ByteSpool({ ...config.spool, onFileCreated: () => files.inc() });
        metrics.gauge(
          'easel_spool_memory_bytes',
          'Upstream image data held in memory by the requests in flight (at most SPOOL_THRESHOLD_BYTES)',
          () => spool.memoryBytes,
        );
        return spool;
      },
    },
  ],
  exports: [ByteSpool],
})
export class SpoolModule {}
