import { Global, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app.config.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ByteSpool } from './byte-spool.js';
import { SpooledFile } from './spooled-file.js';

/**
 * The spool's metrics, and at start the removal of what a crash left in its directory. Apart from
 * `ByteSpool` itself, which needs only the config: the metrics read the upstream executor's
 * circuits, whose adapters hold the spool.
 */
@Injectable()
export class SpoolLifecycle implements OnModuleInit {
  private readonly logger = new Logger(SpoolLifecycle.name);

  constructor(
    spool: ByteSpool,
    metrics: MetricsService,
    private readonly config: AppConfig,
  ) {
    const files = metrics.counter(
      'easel_spool_files_total',
      'Values of upstream answers (image base64) written to a temporary file because SPOOL_THRESHOLD_BYTES was reached',
    );
    spool.onFileCreated = () => files.inc();
    metrics.gauge(
      'easel_spool_memory_bytes',
      'Upstream image data held in memory by the requests in flight (at most SPOOL_THRESHOLD_BYTES)',
      () => spool.memoryBytes,
    );
  }

  async onModuleInit(): Promise<void> {
    const left = await SpooledFile.sweep(this.config.spool.dir);
    if (left > 0) this.logger.warn(`Removed ${left} spool file(s) a crash left in ${this.config.spool.dir}`);
  }
}

/** The one `ByteSpool` of the app (`SPOOL_THRESHOLD_BYTES`), with its metrics. */
@Global()
@Module({
  imports: [MetricsModule],
  providers: [
    { provide: ByteSpool, inject: [AppConfig], useFactory: (config: AppConfig) => new ByteSpool(config.spool) },
    SpoolLifecycle,
  ],
  exports: [ByteSpool],
})
export class SpoolModule {}
