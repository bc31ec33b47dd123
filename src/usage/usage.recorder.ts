import { join } from 'node:path';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { ReservationToSettle } from '../budgets/budgets.service.js';
import { AppConfig } from '../config/app.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { SPAN, startSpan, traced } from '../tracing/tracing.js';
import { type JournalSegment, UsageJournal } from './usage-journal.js';
import type { UsageRecordEntity } from './usage-record.entity.js';
import { isDataError, isUnreachable, sqlState, UsageRecordWriter } from './usage-record.writer.js';
import { type Rejection, UsageSpool } from './usage-spool.js';

const FLUSH_INTERVAL_MS = 100;
const BATCH_SIZE = 1000;
const REPLAY_INTERVAL_MS = 2_000;
/** A repeated failure (a replay that keeps failing, a journal that cannot be written) is logged at most this often. */
const REPEAT_LOG_INTERVAL_MS = 30_000;
/**
 * A spool that holds records and has not shrunk for this long while PostgreSQL answers is not
 * draining: /health/ready says so (503).
 */
export const SPOOL_STALL_MS = 60_000;

/**
 * A record as queued, journaled and spooled: plain JSON (dates as ISO strings), with the budget
 * reservation its request holds, settled when the record is first stored.
 */
export type UsageRecordRow = Omit<UsageRecordEntity, 'createdAt'> & {
  createdAt: string;
  reservation?: ReservationToSettle;
};

/**
 * Writes usage records off the hot path, and never loses one:
 * - `record()` cleans the row (text PostgreSQL cannot store: NUL removed, lone surrogates
 *   replaced, lengths clipped to the columns), appends it to the local journal (one write system
 *   call, before the response completes) and queues it; a timer inserts batches.
 * - `UsageRecordWriter` inserts them `ON CONFLICT DO NOTHING` on the record id, in one
 *   transaction with the budget settlements of the rows actually inserted: a record replayed
 *   twice is stored, and settles its reservation, once.
 * - A batch PostgreSQL refuses for its data (SQLSTATE class 22 or 23) is split until the bad
 *   records are alone; those go to the dead-letter file (`usage-spool/rejected.ndjson`, a log
 *   line, `easel_usage_records_rejected_total`) and the others are stored.
 * - When PostgreSQL cannot be reached, the batch's journal segment moves into the spool, replayed
 *   every 2 s (one replay at a time; failures logged, rate-limited). Journal segments of a process
 *   that died are moved into the spool at start, so they are replayed then.
 * - Shutdown flushes what is queued.
 */
@Injectable()
export class UsageRecorder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageRecorder.name);
  private readonly spool: UsageSpool;
  private readonly journal: UsageJournal<UsageRecordRow>;
  private flushing?: Promise<void>;
  /** Records of the segment being written now (taken from the journal, not yet stored or spooled). */
  private storing = 0;
  private replaying?: Promise<void>;
  private flushTimer?: NodeJS.Timeout;
  private replayTimer?: NodeJS.Timeout;
  /** Whether the last replay left records in the spool (it failed). */
  private spoolPending = false;
  /** When the spool was last seen empty or shrinking, or unable to drain for want of a database. */
  private spoolMovedAt = Date.now();
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly writer: UsageRecordWriter,
    config: AppConfig,
    @Optional() metrics?: MetricsService,
  ) {
    const rejected = metrics?.counter(
      'easel_usage_records_rejected_total',
      'Usage records moved to the dead-letter file (usage-spool/rejected.ndjson)',
      ['reason'],
    );
    this.spool = new UsageSpool(join(config.dataDir, 'usage-spool'), (rejections) => {
      for (const rejection of rejections) {
        rejected?.inc({ reason: rejection.reason });
        this.logger.error(
          `Usage record moved to usage-spool/rejected.ndjson (${rejection.reason}): ${rejection.detail}`,
        );
      }
    });
    this.journal = new UsageJournal(join(config.dataDir, 'usage-journal'), (error) =>
      this.warnNowAndThen(
        'journal',
        `Usage journal not writable (${describe(error)}); records are held in memory until stored`,
      ),
    );
    metrics?.gauge('easel_usage_queue_depth', 'Usage records waiting to be written', () => this.queueDepth);
    metrics?.gauge(
      'easel_usage_spool_bytes',
      'Bytes of usage records waiting in the spool for PostgreSQL (unreachable or refusing them)',
      () => this.spool.size(),
    );
    metrics?.gauge(
      'easel_usage_spool_oldest_record_age_seconds',
      'Age of the oldest usage record waiting in the spool (0 when it is empty)',
      async () => {
        const oldest = await this.spool.oldestRecordAt();
        return oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
      },
    );
  }

  onApplicationBootstrap(): void {
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
    this.replayTimer = setInterval(() => void this.replaySpool(), REPLAY_INTERVAL_MS);
    this.replayTimer.unref();
    void this.replaySpool();
  }

  /**
   * Cleans, journals and queues a record; never waits for the database. Traced as
   * `easel.usage.record`, a child of the request's span; the INSERT of its batch is traced later,
   * in a trace of its own (`easel.usage.insert`).
   */
  record(row: UsageRecordRow): void {
    const span = startSpan(SPAN.usageRecord);
    try {
      const clean = this.writer.storable(row);
      this.journal.write(clean, `${JSON.stringify(clean)}\n`);
    } finally {
      span.end();
    }
    if (this.journal.openDepth >= BATCH_SIZE) void this.flush();
  }

  get queueDepth(): number {
    return this.journal.depth + this.storing;
  }

  /**
   * How long the spool has held records without shrinking while PostgreSQL answered (0 when it
   * is empty or draining). Over `SPOOL_STALL_MS`, the instance is not ready.
   */
  spoolStalledMs(now = Date.now()): number {
    return this.spoolPending ? now - this.spoolMovedAt : 0;
  }

  /** Writes everything queued (to PostgreSQL, or to the spool when it is down). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.replayTimer);
    await this.replaying;
    await this.flush();
    for (let round = 0; round < 3 && this.journal.depth > 0; round++) await this.flush();
    if (this.journal.depth > 0)
      this.logger.error(
        `${this.journal.depth} usage records could be neither stored nor spooled; the journal keeps those it holds for the next start`,
      );
    this.journal.close();
  }

  private async drain(): Promise<void> {
    try {
      await this.drainSegments();
    } finally {
      this.storing = 0;
    }
  }

  private async drainSegments(): Promise<void> {
    for (let segment = this.journal.take(); segment; segment = this.journal.take()) {
      let rejected: Rejection[];
      this.storing = segment.rows.length;
      try {
        rejected = await this.store(segment.rows);
      } catch (error) {
        this.warnNowAndThen(
          'store',
          `PostgreSQL refused ${segment.rows.length} usage records (${describe(error)}); spooling them`,
        );
        await this.toSpool(segment);
        return;
      }
      try {
        await this.spool.reject(rejected);
      } catch (error) {
        // Replayed later: the records stored meanwhile are no-ops then, the refused ones are refused again.
        this.logger.error(`Could not write usage-spool/rejected.ndjson (${describe(error)}); spooling the batch`);
        await this.toSpool(segment);
        continue;
      }
      try {
        this.journal.discard(segment);
      } catch (error) {
        // Stored: a leftover segment replays as no-ops (ON CONFLICT DO NOTHING) at the next start.
        this.logger.warn(`Could not delete a usage journal segment: ${describe(error)}`);
      }
    }
  }

  private async toSpool(segment: JournalSegment<UsageRecordRow>): Promise<void> {
    try {
      if (segment.path && segment.complete) {
        await this.spool.adopt(segment.path);
      } else {
        await this.spool.append(segment.rows, Date.parse(segment.rows[0]!.createdAt) || Date.now());
        this.journal.discard(segment);
      }
    } catch (spoolError) {
      this.logger.error(`Could not spool usage records: ${describe(spoolError)}; keeping them in memory`);
      this.journal.putBack(segment);
    }
  }

  private replaySpool(): Promise<void> {
    this.replaying ??= this.replayOnce().finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async replayOnce(): Promise<void> {
    this.journal.heartbeat();
    for (const leftover of this.journal.leftovers()) {
      try {
        await this.spool.adopt(leftover);
      } catch (error) {
        this.warnNowAndThen(
          'adopt',
          `Could not move a usage journal segment of an earlier process into the spool: ${describe(error)}`,
        );
      }
    }
    try {
      const replayed = await this.spool.replay<UsageRecordRow>(async (batch) => {
        const rejected = await this.store(batch.map((row) => this.writer.storable(row)));
        this.spoolMovedAt = Date.now();
        return rejected;
      }, BATCH_SIZE);
      this.spoolPending = false;
      this.spoolMovedAt = Date.now();
      if (replayed > 0) this.logger.log(`Replayed ${replayed} spooled usage records`);
    } catch (error) {
      this.spoolPending = true;
      // Not the spool's fault when PostgreSQL cannot be reached (readiness reports the database).
      if (isUnreachable(error)) this.spoolMovedAt = Date.now();
      this.warnNowAndThen(
        'replay',
        `Usage spool replay failed (${describe(error)}); retrying every ${REPLAY_INTERVAL_MS / 1000} s`,
      );
    }
  }

  /**
   * Stores rows in batches; resolves with the rows refused for their data, rejects (with the
   * batches before stored) when PostgreSQL cannot take them.
   */
  private async store(rows: readonly UsageRecordRow[]): Promise<Rejection[]> {
    const rejected: Rejection[] = [];
    for (let start = 0; start < rows.length; start += BATCH_SIZE)
      rejected.push(...(await this.storeBatch(rows.slice(start, start + BATCH_SIZE))));
    return rejected;
  }

  /** A batch refused for its data is halved until each bad row is alone: one bad row holds back no other. */
  private async storeBatch(rows: readonly UsageRecordRow[]): Promise<Rejection[]> {
    try {
      // A trace of its own: one batch holds the records of many requests.
      await traced(SPAN.usageInsert, { 'easel.usage.rows': rows.length }, () => this.writer.insert(rows), ROOT_CONTEXT);
      return [];
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1)
        return [
          {
            reason: 'refused',
            detail: `${describe(error)} (SQLSTATE ${sqlState(error)}), request ${rows[0]!.requestId}`,
            record: rows[0],
          },
        ];
      const middle = Math.ceil(rows.length / 2);
      return [...(await this.storeBatch(rows.slice(0, middle))), ...(await this.storeBatch(rows.slice(middle)))];
    }
  }

  private warnNowAndThen(topic: string, message: string): void {
    const now = Date.now();
    if (now - (this.lastLogged.get(topic) ?? 0) < REPEAT_LOG_INTERVAL_MS) return;
    this.lastLogged.set(topic, now);
    this.logger.warn(message);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
