import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BudgetsModule } from '../budgets/budgets.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { CostEstimator } from './pricing/cost-estimator.js';
import { PriceBook } from './pricing/price-book.service.js';
import { PriceVersionEntity } from './pricing/price-version.entity.js';
import { PricingService } from './pricing/pricing.service.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { PricingAdminController } from './pricing/pricing-admin.controller.js';
import { UsageAdminController } from './usage-admin.controller.js';
import { UsageAdminService } from './usage-admin.service.js';
import { UsageHttpHook } from './usage-http.hook.js';
import { UsageReportRepository } from './usage-report.repository.js';
import { UsageRecorder } from './usage.recorder.js';

@Module({
  imports: [TypeOrmModule.forFeature([UsageRecordEntity, PriceVersionEntity]), ProvidersModule, BudgetsModule, MetricsModule],
  controllers: [UsageAdminController, PricingAdminController],
  providers: [PricingService, CostEstimator, PriceBook, UsageRecorder, UsageHttpHook, UsageReportRepository, UsageAdminService],
  exports: [PricingService, CostEstimator, PriceBook, UsageRecorder],
})
export class UsageModule {}
