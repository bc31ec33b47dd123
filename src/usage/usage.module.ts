import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BudgetsModule } from '../budgets/budgets.module.js';
import { InFlightBytesModule } from '../http/in-flight-bytes.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { CostEstimator } from './pricing/cost-estimator.js';
import { PriceBook } from './pricing/price-book.service.js';
import { PriceVersionEntity } from './pricing/price-version.entity.js';
import { PriceVersionRepository } from './pricing/price-version.repository.js';
import { PricingService } from './pricing/pricing.service.js';
import { PricingAdminController } from './pricing/pricing-admin.controller.js';
import { RequestMeter } from './request-meter.js';
import { UsageThumbnailsModule } from './thumbnails/usage-thumbnails.module.js';
import { UsageRecorder } from './usage.recorder.js';
import { UsageAdminController } from './usage-admin.controller.js';
import { UsageAdminService } from './usage-admin.service.js';
import { UsagePartitionMaintenance } from './usage-partition.maintenance.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { UsageRecordWriter } from './usage-record.writer.js';
import { UsageReportRepository } from './usage-report.repository.js';
import { UsageV1Controller } from './usage-v1.controller.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([UsageRecordEntity, PriceVersionEntity]),
    ProvidersModule,
    BudgetsModule,
    InFlightBytesModule,
    MetricsModule,
    UsageThumbnailsModule,
  ],
  controllers: [UsageAdminController, UsageV1Controller, PricingAdminController],
  providers: [
    PricingService,
    CostEstimator,
    PriceBook,
    PriceVersionRepository,
    RequestMeter,
    UsageRecorder,
    UsageRecordWriter,
    UsageReportRepository,
    UsageAdminService,
    UsagePartitionMaintenance,
  ],
  exports: [RequestMeter, UsageRecorder, UsageThumbnailsModule],
})
export class UsageModule {}
