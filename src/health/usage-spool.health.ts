import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { SPOOL_STALL_MS, UsageRecorder } from '../usage/usage.recorder.js';

/**
 * Readiness of the usage writer: down when the usage spool has held records without shrinking for
 * more than a minute while PostgreSQL answered (a record PostgreSQL keeps refusing for a reason
 * other than its data: a missing table or permission, a full disk). While PostgreSQL cannot be
 * reached, the spool is not at fault and this stays up (the database check reports it).
 */
@Injectable()
export class UsageSpoolHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly recorder: UsageRecorder,
  ) {}

  check(now = Date.now()): HealthIndicatorResult {
    const check = this.indicators.check('usage_spool');
    const stalledMs = this.recorder.spoolStalledMs(now);
    if (stalledMs <= SPOOL_STALL_MS) return check.up();
    return check.down({ message: `usage spool not draining for ${Math.round(stalledMs / 1000)} s` });
  }
}
