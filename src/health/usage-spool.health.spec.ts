import { HealthIndicatorService } from '@nestjs/terminus';
import type { UsageRecorder } from '../usage/usage.recorder.js';
import { UsageSpoolHealthIndicator } from './usage-spool.health.js';

describe(UsageSpoolHealthIndicator.name, () => {
  const withStall = (stalledMs: number) =>
    new UsageSpoolHealthIndicator(new HealthIndicatorService(), {
      spoolStalledMs: () => stalledMs,
    } as unknown as UsageRecorder);

  it('is up while the spool is empty or draining, and for a minute of no progress', () => {
    expect(withStall(0).check()).toEqual({ usage_spool: { status: 'up' } });
    expect(withStall(60_000).check()).toEqual({ usage_spool: { status: 'up' } });
  });

  it('is down, saying so, once the spool has not drained for more than a minute', () => {
    expect(withStall(75_000).check()).toEqual({
      usage_spool: { status: 'down', message: 'usage spool not draining for 75 s' },
    });
  });
});
