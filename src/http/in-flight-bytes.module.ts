import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { InFlightBytes } from './in-flight-bytes.js';

/**
 * `InFlightBytes`, one per app: `RequestMeter` (usage) admits through it, `RequestLifecycle` (the
 * HTTP edge) tells it when a connection closes.
 */
@Module({
  imports: [MetricsModule],
  providers: [InFlightBytes],
  exports: [InFlightBytes],
})
export class InFlightBytesModule {}
