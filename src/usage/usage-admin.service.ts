import { Injectable } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/gateway.error.js';
import { formatUsd, parseUsd } from '../common/money/usd.js';
import { dateTimeProblem, parseIsoDateTime } from '../common/validation/date-time.js';
import { lifecycleOf, today } from '../providers/model-lifecycle.gate.js';
import { ProviderRegistry } from '../providers/provider-registry.service.js';
import type { UsageFilterDto, UsageRecordsQueryDto, UsageReportQueryDto } from './dto/usage-query.dto.js';
import type { UsageRecordDto, UsageRecordPageDto, UsageReportDto } from './dto/usage-report.response.js';
import type { UsageRecordEntity } from './usage-record.entity.js';
import { type RecordCursor, type UsageFilter, UsageReportRepository } from './usage-report.repository.js';

@Injectable()
export class UsageAdminService {
  constructor(
    private readonly reports: UsageReportRepository,
    private readonly registry: ProviderRegistry,
  ) {}

  async report(query: UsageReportQueryDto): Promise<UsageReportDto> {
    const groupBy = query.group_by ?? 'model';
    const splitBy = query.split_by;
    if (splitBy === groupBy) {
      throw new InvalidRequestError(
        `split_by must differ from group_by (${groupBy}${query.group_by === undefined ? ', the default' : ''}).`,
        'split_by',
      );
    }
    const filter = this.toFilter(query);
    const { rows, totals } = await this.reports.aggregate(filter, groupBy, splitBy);
    return {
      from: filter.from.toISOString(),
      to: filter.to.toISOString(),
      group_by: groupBy,
      ...(splitBy === undefined ? {} : { split_by: splitBy }),
      rows,
      totals,
    };
  }

  async records(query: UsageRecordsQueryDto): Promise<UsageRecordPageDto> {
    const { records, next } = await this.reports.page(
      this.toFilter(query),
      query.limit ?? 100,
      query.cursor ? decodeCursor(query.cursor) : undefined,
    );
    return { data: records.map(toRecordDto), next_cursor: next ? encodeCursor(next) : null };
  }

  private toFilter(query: UsageFilterDto): UsageFilter {
    const now = new Date();
    const from = query.from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const to = query.to ?? now;
    if (from >= to) throw new InvalidRequestError('from must be before to.', 'from');
    const filter: UsageFilter = {
      from,
      to,
      model: query.model,
      team: query.team,
      apiKeyId: query.api_key,
      endpoint: query.endpoint,
      status: query.status,
    };
    if (query.deprecated !== undefined) {
      const day = today();
      const deprecated = this.registry
        .list()
        .filter(({ definition }) => lifecycleOf(definition.lifecycle, day).deprecated)
        .map(({ definition }) => definition.id);
      filter.models = query.deprecated ? { in: deprecated } : { notIn: deprecated };
    }
    return filter;
  }
}

function encodeCursor(cursor: RecordCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

const CURSOR =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Exactly what `encodeCursor` writes, or a 400: nothing else reaches the query. */
function decodeCursor(cursor: string): RecordCursor {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const createdAt = match ? parseIsoDateTime(match[1]!) : undefined;
  if (!match || dateTimeProblem(createdAt) !== undefined) {
    throw new InvalidRequestError('cursor is not a next_cursor this API returned.', 'cursor');
  }
  return { createdAt: createdAt!, id: match[2]! };
}

function toRecordDto(record: UsageRecordEntity): UsageRecordDto {
  return {
    id: record.id,
    request_id: record.requestId,
    created_at: record.createdAt.toISOString(),
    api_key_id: record.apiKeyId,
    team: record.team,
    endpoint: record.endpoint,
    model: record.model,
    served_model: record.servedModel,
    provider: record.provider,
    route: record.route,
    status: record.status,
    http_status: record.httpStatus,
    error_code: record.errorCode,
    latency_ms: record.latencyMs,
    upstream_latency_ms: record.upstreamLatencyMs,
    images: record.images,
    input_images: record.inputImages,
    input_image_bytes: record.inputImageBytes,
    size: record.size,
    quality: record.quality,
    input_text_tokens: record.inputTextTokens,
    input_image_tokens: record.inputImageTokens,
    cached_input_tokens: record.cachedInputTokens,
    output_text_tokens: record.outputTextTokens,
    output_image_tokens: record.outputImageTokens,
    input_tokens: record.inputTokens,
    output_tokens: record.outputTokens,
    cost_usd: formatUsd(parseUsd(record.costUsd)),
    price_version: record.priceVersion,
    user: record.user,
    prompt_sha256: record.promptSha256,
    prompt_length: record.promptLength,
    prompt_text: record.promptText,
  };
}
