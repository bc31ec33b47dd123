import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, type SelectQueryBuilder } from 'typeorm';
import { formatUsd, parseUsd } from '../common/money/usd.js';
import type { GroupBy } from './dto/usage-query.dto.js';
import type { UsageRowDto, UsageTotalsDto } from './dto/usage-report.response.js';
import type { UsageEndpoint, UsageStatus } from './usage-endpoint.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { planReport } from './usage-report.plan.js';

export interface UsageFilter {
  from: Date;
  to: Date;
  model?: string;
  team?: string;
  apiKeyId?: string;
  endpoint?: UsageEndpoint;
  status?: UsageStatus;
  /** Only requests for these models (`in`), or for none of them (`notIn`). */
  models?: { in: readonly string[] } | { notIn: readonly string[] };
}

export interface RecordCursor {
  createdAt: Date;
  id: string;
}

/** The subquery's columns that hold the group (`grp`) and, with split_by, the split (`grp2`). */
type Dimension = 'grp' | 'grp2';

/**
 * Only these expressions are ever put into SQL for group_by and split_by: over the rollups (`u`, a
 * row per day) and over raw records (`r`), and the group as answered from its `Dimension` (a day
 * is grouped as a date and written out once per group, not once per row).
 */
const GROUP_EXPRESSIONS: Record<GroupBy, { rollup: string; raw: string; answer?: (column: Dimension) => string }> = {
  model: { rollup: `coalesce(u.model, '(none)')`, raw: `coalesce(r.model, '(none)')` },
  api_key: { rollup: `coalesce(u.api_key_id::text, '(none)')`, raw: `coalesce(r.api_key_id::text, '(none)')` },
  team: { rollup: 'u.team', raw: 'r.team' },
  day: {
    rollup: 'u.day',
    raw: `(r.created_at AT TIME ZONE 'UTC')::date`,
    answer: (column) => `to_char(${column}, 'YYYY-MM-DD')`,
  },
  provider: { rollup: `coalesce(u.provider, '(none)')`, raw: `coalesce(r.provider, '(none)')` },
  endpoint: { rollup: 'u.endpoint', raw: 'r.endpoint' },
};

interface AggregateRow {
  grp: string | null;
  /** Only with a split. */
  grp2?: string | null;
  is_total: number;
  requests: string;
  errors: string;
  images: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: string;
}

/**
 * Spend reports: sums in PostgreSQL, exact numeric cost. Whole UTC days come from
 * `usage_daily_rollups` (a row per day, key, model, endpoint and status, kept current by the
 * writer); the days `from`/`to` cut, partly from `usage_records` (`planReport`).
 */
@Injectable()
export class UsageReportRepository {
  constructor(@InjectRepository(UsageRecordEntity) private readonly records: Repository<UsageRecordEntity>) {}

  /**
   * Rows per group (or, with `splitBy`, per group and split) and the totals, in one query
   * (GROUPING SETS over rollups and records).
   */
  async aggregate(
    filter: UsageFilter,
    groupBy: GroupBy,
    splitBy?: GroupBy,
  ): Promise<{ rows: UsageRowDto[]; totals: UsageTotalsDto }> {
    const parameters: unknown[] = [];
    const parameter = (value: unknown): string => `$${parameters.push(value)}`;
    const group = GROUP_EXPRESSIONS[groupBy];
    const split = splitBy === undefined ? undefined : GROUP_EXPRESSIONS[splitBy];
    const dimensions = (source: 'rollup' | 'raw') =>
      split ? `${group[source]} AS grp, ${split[source]} AS grp2` : `${group[source]} AS grp`;
    const plan = planReport(filter.from, filter.to, new Date());
    const parts = plan.rollupDays.map(
      ({ from, to }) =>
        `SELECT ${dimensions('rollup')}, u.status, u.requests, u.images, u.input_tokens, u.output_tokens, u.cost_usd
           FROM usage_daily_rollups u
          WHERE u.day >= ${parameter(isoDay(from))}::date AND u.day < ${parameter(isoDay(to))}::date
                ${filterSql('u', filter, parameter)}`,
    );
    for (const { from, to, sign } of plan.records) {
      const signed = (column: string) => (sign === 1 ? column : `-${column}`);
      parts.push(
        `SELECT ${dimensions('raw')}, r.status, ${sign} AS requests, ${['images', 'input_tokens', 'output_tokens', 'cost_usd'].map((column) => signed(`r.${column}`)).join(', ')}
           FROM usage_records r
          WHERE r.created_at >= ${parameter(from)} AND r.created_at < ${parameter(to)}
                ${filterSql('r', filter, parameter)}`,
      );
    }
    const answer = (expression: { answer?: (column: Dimension) => string }, column: Dimension) =>
      `${expression.answer?.(column) ?? column} AS ${column}`;
    const raw: AggregateRow[] = await this.records.query(
      `SELECT ${answer(group, 'grp')}, ${split ? `${answer(split, 'grp2')},` : ''} GROUPING(grp) AS is_total,
              coalesce(sum(requests), 0) AS requests,
              coalesce(sum(requests) FILTER (WHERE status = 'error'), 0) AS errors,
              coalesce(sum(images), 0) AS images,
              coalesce(sum(input_tokens), 0) AS input_tokens,
              coalesce(sum(output_tokens), 0) AS output_tokens,
              coalesce(sum(cost_usd), 0)::text AS cost_usd
         FROM (${parts.join(' UNION ALL ')}) s
        GROUP BY GROUPING SETS ((${split ? 'grp, grp2' : 'grp'}), ())
       -- a group (or pair) whose records all fell in a part taken away nets to nothing
       HAVING GROUPING(grp) = 1 OR sum(requests) <> 0
        ORDER BY is_total ASC, grp ASC${split ? ', grp2 ASC' : ''}`,
      parameters,
    );
    const totalRow = raw.find((row) => Number(row.is_total) === 1);
    return {
      rows: raw
        .filter((row) => Number(row.is_total) === 0)
        .map((row) => ({
          group: row.grp ?? '(none)',
          ...(split ? { split: row.grp2 ?? '(none)' } : {}),
          ...toTotals(row),
        })),
      totals: totalRow
        ? toTotals(totalRow)
        : { requests: 0, errors: 0, images: 0, input_tokens: 0, output_tokens: 0, cost_usd: '0' },
    };
  }

  /** Newest first; `limit + 1` rows are read to know whether there is a next page. */
  async page(
    filter: UsageFilter,
    limit: number,
    after?: RecordCursor,
  ): Promise<{ records: UsageRecordEntity[]; next?: RecordCursor }> {
    const query = this.filtered(filter)
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .take(limit + 1);
    if (after)
      query.andWhere('(r.created_at, r.id) < (:afterAt, :afterId)', { afterAt: after.createdAt, afterId: after.id });
    const records = await query.getMany();
    const hasMore = records.length > limit;
    const pageRecords = records.slice(0, limit);
    const last = pageRecords.at(-1);
    return { records: pageRecords, next: hasMore && last ? { createdAt: last.createdAt, id: last.id } : undefined };
  }

  private filtered(filter: UsageFilter): SelectQueryBuilder<UsageRecordEntity> {
    const parameters: Record<string, unknown> = {};
    const conditions = filterSql('r', filter, (value) => {
      const name = `p${Object.keys(parameters).length}`;
      parameters[name] = value;
      return `:${name}`;
    });
    return this.records.createQueryBuilder('r').where(`r.created_at >= :from AND r.created_at < :to ${conditions}`, {
      ...parameters,
      from: filter.from,
      to: filter.to,
    });
  }
}

function isoDay(day: Date): string {
  return day.toISOString().slice(0, 10);
}

/** The filter's conditions on a table aliased `alias` (rollups and records name the columns alike). */
function filterSql(alias: 'u' | 'r', filter: UsageFilter, parameter: (value: unknown) => string): string {
  const conditions: string[] = [];
  if (filter.model) conditions.push(`${alias}.model = ${parameter(filter.model)}`);
  if (filter.team) conditions.push(`${alias}.team = ${parameter(filter.team)}`);
  if (filter.apiKeyId) conditions.push(`${alias}.api_key_id = ${parameter(filter.apiKeyId)}`);
  if (filter.endpoint) conditions.push(`${alias}.endpoint = ${parameter(filter.endpoint)}`);
  if (filter.status) conditions.push(`${alias}.status = ${parameter(filter.status)}`);
  if (filter.models && 'in' in filter.models) {
    conditions.push(`${alias}.model = ANY(${parameter(filter.models.in)})`);
  } else if (filter.models) {
    conditions.push(`(${alias}.model IS NULL OR NOT (${alias}.model = ANY(${parameter(filter.models.notIn)})))`);
  }
  return conditions.map((condition) => `AND ${condition}`).join(' ');
}

function toTotals(row: AggregateRow): UsageTotalsDto {
  return {
    requests: Number(row.requests),
    errors: Number(row.errors),
    images: Number(row.images),
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
    cost_usd: formatUsd(parseUsd(row.cost_usd)),
  };
}
