import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StorageModule } from '../storage/storage.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { DependencyHealthIndicators } from './dependency.health.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { UsageSpoolHealthIndicator } from './usage-spool.health.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), StorageModule, UsageModule],
  controllers: [HealthController],
  providers: [HealthService, DependencyHealthIndicators, UsageSpoolHealthIndicator],
})
export class HealthModule {}
