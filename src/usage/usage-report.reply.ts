import { StreamableFile } from '@nestjs/common';
import type { UsageReportDto } from './dto/usage-report.response.js';
import { usageReportCsv } from './usage-report.csv.js';

/** The report as JSON, or as a CSV download with format=csv or, without format, `Accept: text/csv`. */
export function usageReportReply(
  report: UsageReportDto,
  format: 'json' | 'csv' | undefined,
  accept: string | undefined,
): UsageReportDto | StreamableFile {
  if (format !== 'csv' && !(format === undefined && accept?.includes('text/csv'))) return report;
  return new StreamableFile(Buffer.from(usageReportCsv(report)), {
    type: 'text/csv; charset=utf-8',
    disposition: `attachment; filename="easel-usage-${report.group_by}${report.split_by === undefined ? '' : `-${report.split_by}`}.csv"`,
  });
}
