import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AfterBurstCollector, exposedGarbageCollector, GARBAGE_COLLECTOR } from './after-burst-collector.js';
import { InFlightBytes } from './in-flight-bytes.js';

/**
 * `InFlightBytes`, one per app: `RequestMeter` (usage) admits through it, `RequestLifecycle` (the
 * HTTP edge) tells it when a connection closes; `AfterBurstCollector` hands a burst's memory back.
 */
@Module({
  imports: [MetricsModule],
  providers: [InFlightBytes, AfterBurstCollector, { provide: GARBAGE_COLLECTOR, useFactory: exposedGarbageCollector }],
  exports: [InFlightBytes],
})
export class InFlightBytesModule {}
