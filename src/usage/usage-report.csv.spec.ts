import type { UsageReportDto } from './dto/usage-report.response.js';
import { csvTextCell, usageReportCsv } from './usage-report.csv.js';

function report(groups: string[]): UsageReportDto {
  const counts = { requests: 2, errors: 1, images: 3, input_tokens: 40, output_tokens: 500, cost_usd: '0.0425' };
  return {
    from: '2026-11-01T00:00:00.000Z',
    to: '2026-12-01T00:00:00.000Z',
    group_by: 'team',
    rows: groups.map((group) => ({ group, ...counts })),
    totals: counts,
  };
}

describe('csvTextCell', () => {
  it.each([
    // Text stays as it is...
    ['growth', 'growth'],
    ['azure/openai/gpt-image-1', 'azure/openai/gpt-image-1'],
    ['2026-11-24', '2026-11-24'],
    ['(none)', '(none)'],
    ['a=b', 'a=b'],
    [' =1', ' =1'],
    // ...quoted where it holds a comma, a quote or a line break...
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rinside', '"cr\rinside"'],
    // ...and what a spreadsheet would run as a formula gets a leading ' and quotes, so it shows as text.
    ["=cmd|' /C calc'!A0", `"'=cmd|' /C calc'!A0"`],
    ['=HYPERLINK("http://evil.example","Click")', `"'=HYPERLINK(""http://evil.example"",""Click"")"`],
    ['+1+1', `"'+1+1"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1:A9)', `"'@SUM(A1:A9)"`],
    ['\t=1+1', `"'\t=1+1"`],
    ['\r=1+1', `"'\r=1+1"`],
  ])('writes %p as %p', (value, cell) => {
    expect(csvTextCell(value)).toBe(cell);
  });
});

describe('usageReportCsv', () => {
  it('writes a header and one line per row, numbers plain', () => {
    expect(usageReportCsv(report(['growth', 'design']))).toBe(
      'group,requests,errors,images,input_tokens,output_tokens,cost_usd\ngrowth,2,1,3,40,500,0.0425\ndesign,2,1,3,40,500,0.0425\n',
    );
  });

  it('neutralises the group cell only', () => {
    const lines = usageReportCsv(report(['=1+1', '-team'])).split('\n');

    expect(lines[1]).toBe(`"'=1+1",2,1,3,40,500,0.0425`);
    expect(lines[2]).toBe(`"'-team",2,1,3,40,500,0.0425`);
  });

  it('writes only the header for a report without rows', () => {
    expect(usageReportCsv(report([]))).toBe('group,requests,errors,images,input_tokens,output_tokens,cost_usd\n');
  });

  it('with split_by, writes a split column after the group, neutralised as the group is', () => {
    const split = report([]);
    split.group_by = 'day';
    split.split_by = 'team';
    split.rows = [
      { ...report(['2026-11-02']).rows[0]!, split: 'growth' },
      { ...report(['2026-11-02']).rows[0]!, split: '=1+1' },
      { ...report(['2026-11-03']).rows[0]!, split: 'a,b' },
    ];

    expect(usageReportCsv(split)).toBe(
      [
        'group,split,requests,errors,images,input_tokens,output_tokens,cost_usd',
        '2026-11-02,growth,2,1,3,40,500,0.0425',
        `2026-11-02,"'=1+1",2,1,3,40,500,0.0425`,
        '2026-11-03,"a,b",2,1,3,40,500,0.0425',
        '',
      ].join('\n'),
    );
  });

  it('writes no split column without split_by', () => {
    expect(usageReportCsv(report(['growth'])).split('\n')[0]).not.toContain('split');
  });
});
