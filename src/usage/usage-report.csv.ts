import type { UsageReportDto } from './dto/usage-report.response.js';

const COLUMNS = ['group', 'requests', 'errors', 'images', 'input_tokens', 'output_tokens', 'cost_usd'] as const;
/** With split_by: the split beside the group. */
const SPLIT_COLUMNS = ['group', 'split', ...COLUMNS.slice(1)] as const;
/** Columns Easel computes (counts and a non-negative decimal): written as they are. */
const NUMERIC_COLUMNS = new Set<string>(['requests', 'errors', 'images', 'input_tokens', 'output_tokens', 'cost_usd']);

/** A spreadsheet reads a cell that starts with one of these as a formula (OWASP, CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A cell with one of these must be quoted. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * The report's rows as CSV (RFC 4180 quoting, `\n` line ends), with text cells made safe to open in
 * a spreadsheet; a `split` column after `group` only when the report has a split_by.
 */
export function usageReportCsv(report: UsageReportDto): string {
  const columns = report.split_by === undefined ? COLUMNS : SPLIT_COLUMNS;
  const lines = [columns.join(',')];
  for (const row of report.rows) {
    lines.push(
      columns
        .map((column) => (NUMERIC_COLUMNS.has(column) ? String(row[column]) : csvTextCell(String(row[column] ?? ''))))
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A text cell whose value came from a client (a team name, a model id): one that a spreadsheet
 * would run as a formula (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`, or after a tab or CR) gets a
 * leading `'` and quotes, as OWASP advises, so it shows as the text it is; quotes are doubled.
 */
export function csvTextCell(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return text !== value || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
