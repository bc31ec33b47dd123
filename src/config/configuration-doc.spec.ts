import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { envSchema } from './env.validation.js';

/**
 * docs/CONFIGURATION.md has one table of every variable; this keeps it and `envSchema` in
 * agreement, so neither can gain, lose or change a variable without the other.
 */
const DOC = new URL('../../docs/CONFIGURATION.md', import.meta.url);
const HEADER = '| variable | default | values | meaning |';

interface DocRow {
  name: string;
  defaultCell: string;
  valuesCell: string;
}

/** The rows of the variables table: `| \`NAME\` | default | values | meaning |`. */
function tableRows(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(HEADER);
  if (start === -1) throw new Error(`docs/CONFIGURATION.md has no table headed "${HEADER}"`);
  const rows: DocRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [nameCell = '', defaultCell = '', valuesCell = ''] = line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(nameCell)?.[1];
    if (!name) throw new Error(`not one variable in backticks: ${nameCell}`);
    rows.push({ name, defaultCell, valuesCell });
  }
  return rows;
}

/** What the schema says about one variable: its default, its numeric range, its allowed values. */
function describeField(field: z.ZodType): { default?: string; range?: string; options?: string[] } {
  const unset = field.safeParse(undefined);
  const value: unknown = unset.success ? unset.data : undefined;
  // Scalars only: an empty list (REMOTE_IMAGE_ALLOWED_NETWORKS) is "unset" in the table.
  const scalar = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  // Invalid on purpose: the messages name the range ("must be between 1 and 60") or the options.
  const issue = field.safeParse('\u0001-99999999999999').error?.issues[0]?.message ?? '';
  const range = /between (-?\d+) and (-?\d+)/.exec(issue);
  const options = /expected one of (.+)$/
    .exec(issue)?.[1]
    ?.match(/"[^"]+"/g)
    ?.map((quoted) => quoted.slice(1, -1));
  return {
    default: scalar ? String(value) : undefined,
    range: range ? `${range[1]}..${range[2]}` : undefined,
    options: issue === 'must be true or false' ? ['true', 'false'] : options,
  };
}

/** Every disagreement between the table and a schema shape, one line each. */
function disagreements(rows: DocRow[], shape: Record<string, z.ZodType>): string[] {
  const problems: string[] = [];
  const documented = new Map(rows.map((row) => [row.name, row]));
  if (documented.size !== rows.length) problems.push('a variable is listed twice');
  for (const name of Object.keys(shape)) {
    if (!documented.has(name)) problems.push(`${name}: in the schema, missing from the table`);
  }
  for (const row of rows) {
    const field = shape[row.name];
    if (!field) {
      problems.push(`${row.name}: in the table, missing from the schema`);
      continue;
    }
    const schema = describeField(field);
    if (schema.default !== undefined && !row.defaultCell.startsWith(`\`${schema.default}\``)) {
      problems.push(`${row.name}: the schema's default is ${schema.default}, the table says "${row.defaultCell}"`);
    }
    if (schema.default === undefined && !row.defaultCell.startsWith('unset')) {
      problems.push(`${row.name}: the schema has no default, so the table's should start with "unset"`);
    }
    if (schema.range && !row.valuesCell.includes(schema.range)) {
      problems.push(`${row.name}: the schema allows ${schema.range}, the table says "${row.valuesCell}"`);
    }
    for (const option of schema.options ?? []) {
      if (!row.valuesCell.includes(`\`${option}\``))
        problems.push(`${row.name}: the table does not list \`${option}\``);
    }
  }
  return problems;
}

describe('docs/CONFIGURATION.md and envSchema', () => {
  const rows = tableRows(readFileSync(DOC, 'utf8'));

  it('list the same variables, with the same defaults, ranges and allowed values', () => {
    expect(disagreements(rows, envSchema.shape)).toEqual([]);
  });

  it('would report a variable added to the schema only, or to the table only', () => {
    const shape = { ...envSchema.shape, NEW_VARIABLE: z.string().optional() } as Record<string, z.ZodType>;
    const withExtraRow = [...rows, { name: 'ONLY_IN_THE_TABLE', defaultCell: 'unset', valuesCell: '' }];

    expect(disagreements(rows, shape)).toEqual(['NEW_VARIABLE: in the schema, missing from the table']);
    expect(disagreements(withExtraRow, envSchema.shape)).toEqual([
      'ONLY_IN_THE_TABLE: in the table, missing from the schema',
    ]);
  });

  it('would report a default or a range that drifted', () => {
    const drifted = rows.map((row) =>
      row.name === 'RATE_LIMIT_RPM' ? { ...row, defaultCell: '`61`', valuesCell: '`1..999`' } : row,
    );

    expect(disagreements(drifted, envSchema.shape)).toEqual([
      expect.stringContaining("RATE_LIMIT_RPM: the schema's default is 60"),
      expect.stringContaining('RATE_LIMIT_RPM: the schema allows 1..1000000'),
    ]);
  });
});
