import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { BudgetsModule } from '../budgets/budgets.module.js';
import { HttpDrain } from '../common/http/http-drain.js';
import { RequestLogListener } from '../logging/request-log.listener.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RequestMetricsListener } from '../metrics/request-metrics.listener.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { UsageRecordListener } from '../usage/usage-record.listener.js';
import { InFlightBytesModule } from './in-flight-bytes.module.js';
import { RequestLifecycle } from './request-lifecycle.js';

/**
 * The HTTP edge: `RequestLifecycle` (whose hooks `configureApp` registers) and the listeners it
 * tells, each in the feature folder whose data it handles.
 */
@Module({
  imports: [AuthModule, BudgetsModule, InFlightBytesModule, MetricsModule, ProvidersModule, UsageModule],
  providers: [RequestLifecycle, HttpDrain, UsageRecordListener, RequestMetricsListener, RequestLogListener],
  exports: [RequestLifecycle],
})
export class HttpEdgeModule {}
