import { Injectable } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/gateway.error.js';
import { formatUsd, parseUsd } from '../common/money/usd.js';
import type { UsageFilterDto, UsageRecordsQueryDto, UsageReportQueryDto } from './dto/usage-query.dto.js';
import type { UsageRecordDto, UsageRecordPageDto, UsageReportDto } from './dto/usage-report.response.js';
import type { UsageRecordEntity } from './usage-record.entity.js';
import { type RecordCursor, type UsageFilter, UsageReportRepository } from './usage-report.repository.js';

const CSV_COLUMNS = ['group', 'requests', 'errors', 'images', 'input_tokens', 'output_tokens', 'cost_usd'] as const;

@Injectable()
export class UsageAdminService {
  constructor(private readonly reports: UsageReportRepository) {}

  async report(query: UsageReportQueryDto): Promise<UsageReportDto> {
    const filter = toFilter(query);
    const groupBy = query.group_by ?? 'model';
    const { rows, totals } = await this.reports.aggregate(filter, groupBy);
    return { from: filter.from.toISOString(), to: filter.to.toISOString(), group_by: groupBy, rows, totals };
  }

  toCsv(report: UsageReportDto): string {
    const lines = [CSV_COLUMNS.join(',')];
    for (const row of report.rows) lines.push(CSV_COLUMNS.map((column) => csvField(String(row[column]))).join(','));
    return `${lines.join('\n')}\n`;
  }

  async records(query: UsageRecordsQueryDto): Promise<UsageRecordPageDto> {
    const { records, next } = await this.reports.page(toFilter(query), query.limit ?? 100, query.cursor ? decodeCursor(query.cursor) : undefined);
    return { data: records.map(toRecordDto), next_cursor: next ? encodeCursor(next) : null };
  }
}

function toFilter(query: UsageFilterDto): UsageFilter {
  const now = new Date();
  const from = query.from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = query.to ?? now;
  if (from >= to) throw new InvalidRequestError('from must be before to.', 'from');
  return { from, to, model: query.model, team: query.team, apiKeyId: query.api_key };
}

function encodeCursor(cursor: RecordCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

function decodeCursor(cursor: string): RecordCursor {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(createdAt.getTime())) {
    throw new InvalidRequestError('cursor is not a next_cursor this API returned.', 'cursor');
  }
  return { createdAt, id };
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
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
    provider: record.provider,
    route: record.route,
    status: record.status,
    http_status: record.httpStatus,
    error_code: record.errorCode,
    latency_ms: record.latencyMs,
    upstream_latency_ms: record.upstreamLatencyMs,
    images: record.images,
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
