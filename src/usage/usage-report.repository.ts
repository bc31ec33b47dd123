import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, type SelectQueryBuilder } from 'typeorm';
import { formatUsd, parseUsd } from '../common/money/usd.js';
import type { GroupBy } from './dto/usage-query.dto.js';
import type { UsageRowDto, UsageTotalsDto } from './dto/usage-report.response.js';
import { UsageRecordEntity } from './usage-record.entity.js';

export interface UsageFilter {
  from: Date;
  to: Date;
  model?: string;
  team?: string;
  apiKeyId?: string;
  /** Only requests for these models (`in`), or for none of them (`notIn`). */
  models?: { in: readonly string[] } | { notIn: readonly string[] };
}

export interface RecordCursor {
  createdAt: Date;
  id: string;
}

/** Only these expressions are ever put into SQL for group_by. */
const GROUP_EXPRESSIONS: Record<GroupBy, string> = {
  model: `coalesce(r.model, '(none)')`,
  api_key: `coalesce(r.api_key_id::text, '(none)')`,
  team: 'r.team',
  day: `to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  provider: `coalesce(r.provider, '(none)')`,
  endpoint: 'r.endpoint',
};

interface AggregateRow {
  grp: string | null;
  is_total: number;
  requests: string;
  errors: string;
  images: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: string;
}

/** Spend reports over `usage_records`: sums in PostgreSQL, exact numeric cost. */
@Injectable()
export class UsageReportRepository {
  constructor(@InjectRepository(UsageRecordEntity) private readonly records: Repository<UsageRecordEntity>) {}

  /** Rows per group and the totals, in one query (GROUPING SETS). */
  async aggregate(filter: UsageFilter, groupBy: GroupBy): Promise<{ rows: UsageRowDto[]; totals: UsageTotalsDto }> {
    const expression = GROUP_EXPRESSIONS[groupBy];
    const raw = await this.filtered(filter)
      .select(`${expression}`, 'grp')
      .addSelect(`GROUPING(${expression})`, 'is_total')
      .addSelect('count(*)', 'requests')
      .addSelect(`count(*) FILTER (WHERE r.status = 'error')`, 'errors')
      .addSelect('coalesce(sum(r.images), 0)', 'images')
      .addSelect('coalesce(sum(r.input_tokens), 0)', 'input_tokens')
      .addSelect('coalesce(sum(r.output_tokens), 0)', 'output_tokens')
      .addSelect('coalesce(sum(r.cost_usd), 0)::text', 'cost_usd')
      .groupBy(`GROUPING SETS ((${expression}), ())`)
      .orderBy('is_total', 'ASC')
      .addOrderBy('grp', 'ASC')
      .getRawMany<AggregateRow>();
    const totalRow = raw.find((row) => Number(row.is_total) === 1);
    return {
      rows: raw
        .filter((row) => Number(row.is_total) === 0)
        .map((row) => ({ group: row.grp ?? '(none)', ...toTotals(row) })),
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
    const query = this.records
      .createQueryBuilder('r')
      .where('r.created_at >= :from AND r.created_at < :to', { from: filter.from, to: filter.to });
    if (filter.model) query.andWhere('r.model = :model', { model: filter.model });
    if (filter.team) query.andWhere('r.team = :team', { team: filter.team });
    if (filter.apiKeyId) query.andWhere('r.api_key_id = :apiKeyId', { apiKeyId: filter.apiKeyId });
    if (filter.models && 'in' in filter.models) {
      query.andWhere('r.model = ANY(:models)', { models: filter.models.in });
    } else if (filter.models) {
      query.andWhere('(r.model IS NULL OR NOT (r.model = ANY(:models)))', { models: filter.models.notIn });
    }
    return query;
  }
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
