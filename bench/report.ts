/**
 * The bench's report: every measured row, the targets (ratios within this run), and with
 * `--against` the previous build beside the current one. `writeResults` puts it into the results
 * block of docs/BENCHMARKS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type BurstRun, problems } from './burst.js';
import type { LoadResult } from './load.js';
import type { UsageRecordingResult } from './usage-recording.js';

export const SCENARIOS = {
  small1: 'small, 1 connection',
  small64: 'small, 64 connections',
  open: '1,000 open requests, upstream 2 s',
  large: '4 MB base64, 16 connections',
  stream: 'chat stream (1 MB image), time to first byte',
  edits: 'edit: 4 MB PNG in, 2 MB base64 out, 4 connections',
} as const;

/** The current code's name in the rows; a previous build's is `easel@<ref>`. */
export const CURRENT = 'easel';
export const DIRECT = 'direct';
export const BARE = 'bare proxy';
/** The bare pass-through's route that streams the upstream's body through (the bursts). */
export const BARE_STREAMED = 'bare proxy (streams)';
export const PORTKEY = 'portkey';
/** The name of a build's row for `response_format: "url"`. */
export const asUrl = (build: string) => `${build} (url)`;

export interface Row {
  scenario: string;
  target: string;
  result: LoadResult;
  peakRssMb: number;
  /** CPU time of the target's process over the measured runs, per successful request. */
  cpuUsPerRequest: number;
}

/** RSS of one gateway process: once ready, idle a while later, idle again after the run. */
export interface IdleRss {
  target: string;
  justStarted: number;
  idleAtStart: number;
  idleAtEnd: number;
}

export interface Run {
  rows: Row[];
  idle: IdleRss[];
  /** Absent when `--only` left the usage-recording measurement out. */
  usage?: UsageRecordingResult;
  /** The previous build's name when `--against` was given. */
  previous?: string;
  portkeyVersion?: string;
  seconds: number;
  warmupSeconds: number;
  settleSeconds: number;
  elapsedSeconds: number;
}

interface Goal {
  what: string;
  /** The value for one build (`easel` or `easel@<ref>`); NaN when it was not measured. */
  measure(build: string): number;
  format(value: number, build: string): string;
  /** Whether the current build's value meets the goal; absent where there is nothing to judge it by. */
  met?(value: number): boolean;
}

/** The first line of a report: when, on what, how. */
function runLine(details: string[], elapsedSeconds: number): string {
  return [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    `${Math.round(totalmem() / 2 ** 30)} GiB`,
    `Node.js ${process.version}`,
    ...details,
    `the whole run took ${Math.round(elapsedSeconds)} s`,
  ].join(' · ');
}

export function render(run: Run): string {
  const { rows, previous } = run;
  const find = (scenario: string, target: string) =>
    rows.find((row) => row.scenario === scenario && row.target === target);
  const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');
  const int = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : '—');
  const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—');
  const relative = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '');

  const lines = [
    runLine(
      [
        ...(previous ? [`against ${previous}`] : []),
        run.portkeyVersion ? `Portkey ${run.portkeyVersion}` : 'without Portkey',
        `${run.seconds} s per run after a ${run.warmupSeconds} s warm-up`,
      ],
      run.elapsedSeconds,
    ),
    '',
    '| scenario | target | req/s | mean ms | p50 ms | p99 ms | mean − bare ms | p99 − direct ms | × bare req/s | CPU µs/req | × bare CPU | peak RSS MB | failed |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const direct = find(row.scenario, DIRECT);
    const bare = row.target === DIRECT || row.target === BARE ? undefined : find(row.scenario, BARE);
    const streaming = row.scenario === SCENARIOS.stream;
    const { result } = row;
    lines.push(
      '| ' +
        [
          row.scenario,
          row.target,
          streaming ? '—' : int(result.throughputRps),
          ms(result.meanMs),
          ms(result.p50Ms),
          ms(result.p99Ms),
          bare ? relative(result.meanMs - bare.result.meanMs) : '',
          direct && row !== direct ? relative(result.p99Ms - direct.result.p99Ms) : '',
          bare && !streaming ? relative(result.throughputRps / bare.result.throughputRps) : '',
          int(row.cpuUsPerRequest),
          bare ? relative(row.cpuUsPerRequest / bare.cpuUsPerRequest) : '',
          int(row.peakRssMb),
          String(result.failures),
        ].join(' | ') +
        ' |',
    );
  }

  const idleOf = (target: string) => run.idle.find((idle) => idle.target === target);
  const { usage } = run;
  lines.push(
    '',
    `RSS when ready / idle ${run.settleSeconds} s later / idle ${run.settleSeconds} s after the run: ${run.idle
      .map((idle) => `${idle.target} ${int(idle.justStarted)} / ${int(idle.idleAtStart)} / ${int(idle.idleAtEnd)} MB`)
      .join('; ')}.`,
    ...(usage
      ? [
          `Usage recording (${usage.records.toLocaleString('en')} records, in process): building and queueing a record p50 ${usage.queueP50Us.toFixed(1)} µs, p99 ${usage.queueP99Us.toFixed(1)} µs; all of it, batched INSERTs included, costs this process ${usage.cpuUsPerRecord.toFixed(1)} µs of CPU per record (${usage.recordsPerSecond.toLocaleString('en')} records/s into PostgreSQL, ${usage.stored.toLocaleString('en')} stored). It happens after the response is sent.`,
        ]
      : []),
  );

  const value = (scenario: string, target: string, pick: (row: Row) => number) => {
    const row = find(scenario, target);
    return row ? pick(row) : Number.NaN;
  };
  const ratio = (scenario: string, target: string, reference: string, pick: (row: Row) => number) =>
    value(scenario, target, pick) / value(scenario, reference, pick);
  const rps = (row: Row) => row.result.throughputRps;
  const cpu = (row: Row) => row.cpuUsPerRequest;
  const streamCpu = (build: string) => value(SCENARIOS.stream, build, cpu);
  const goals: Goal[] = [
    {
      what: `${SCENARIOS.small64}: CPU per request ≤ 2.5× the bare pass-through's`,
      measure: (build) => ratio(SCENARIOS.small64, build, BARE, cpu),
      format: times,
      met: (v) => v <= 2.5,
    },
    {
      what: `${SCENARIOS.small64}: req/s ≥ 0.6× the bare pass-through's`,
      measure: (build) => ratio(SCENARIOS.small64, build, BARE, rps),
      format: times,
      met: (v) => v >= 0.6,
    },
    {
      what: `${SCENARIOS.small1}: mean latency ≤ 0.25 ms over the bare pass-through's`,
      measure: (build) =>
        value(SCENARIOS.small1, build, (row) => row.result.meanMs) -
        value(SCENARIOS.small1, BARE, (row) => row.result.meanMs),
      format: (v) => `${ms(v)} ms`,
      met: (v) => v <= 0.25,
    },
    {
      what: `${SCENARIOS.small1}: p99 ≤ 2 ms over direct`,
      measure: (build) =>
        value(SCENARIOS.small1, build, (row) => row.result.p99Ms) -
        value(SCENARIOS.small1, DIRECT, (row) => row.result.p99Ms),
      format: (v) => `${ms(v)} ms`,
      met: (v) => v <= 2,
    },
    {
      what: "4 MB b64_json: req/s ≥ 0.9× the bare pass-through's",
      measure: (build) => ratio(SCENARIOS.large, build, BARE, rps),
      format: times,
      met: (v) => v >= 0.9,
    },
    {
      what: "4 MB url: req/s ≥ 0.75× the bare pass-through's",
      measure: (build) => ratio(SCENARIOS.large, asUrl(build), BARE, rps),
      format: times,
      met: (v) => v >= 0.75,
    },
    {
      what: previous
        ? `chat stream, 1 MB image: CPU per request ≤ 0.5× ${previous}'s`
        : 'chat stream, 1 MB image: CPU per request (halved: judged with --against)',
      measure: streamCpu,
      format: (v, build) =>
        previous && build === CURRENT ? `${int(v)} µs (${times(v / streamCpu(previous))})` : `${int(v)} µs`,
      ...(previous ? { met: (v: number) => v <= 0.5 * streamCpu(previous) } : {}),
    },
    {
      what: 'RSS idle ≤ 120 MB',
      measure: (build) => Math.max(idleOf(build)?.idleAtStart ?? Number.NaN, idleOf(build)?.idleAtEnd ?? Number.NaN),
      format: (v) => `${int(v)} MB`,
      met: (v) => v <= 120,
    },
    {
      what: 'RSS with 1,000 slow requests in flight ≤ 350 MB',
      measure: (build) => value(SCENARIOS.open, build, (row) => row.peakRssMb),
      format: (v) => `${int(v)} MB`,
      met: (v) => v <= 350,
    },
  ];
  lines.push(
    '',
    `| target | measured | met |${previous ? ` ${previous} |` : ''}`,
    `|---|---:|:---:|${previous ? '---:|' : ''}`,
    ...goals.map((goal) => {
      const measured = goal.measure(CURRENT);
      const met = !goal.met || !Number.isFinite(measured) ? '—' : goal.met(measured) ? 'yes' : '**no**';
      const before = previous ? ` ${goal.format(goal.measure(previous), previous)} |` : '';
      return `| ${goal.what} | ${goal.format(measured, CURRENT)} | ${met} |${before}`;
    }),
    ...(usage
      ? [
          `| usage recording adds ≤ 0.1 ms p50 | ${(usage.cpuUsPerRecord / 1000).toFixed(3)} ms | ${usage.cpuUsPerRecord <= 100 ? 'yes' : '**no**'} |${previous ? ' |' : ''}`,
        ]
      : []),
  );

  if (previous) lines.push('', ...beforeAndAfter(run, previous, find));
  return lines.join('\n');
}

/** The previous build → the current one, scenario by scenario, from the same run. */
function beforeAndAfter(
  run: Run,
  previous: string,
  find: (scenario: string, target: string) => Row | undefined,
): string[] {
  const number = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
  const change = (before: number, after: number, digits: number, withRatio = false) =>
    `${number(before, digits)} → ${number(after, digits)}${withRatio && Number.isFinite(after / before) ? ` (${(after / before).toFixed(2)}×)` : ''}`;
  const lines = [
    `Before → after in this run: ${previous} → ${CURRENT} (the current code).`,
    '',
    '| scenario | req/s | mean ms | p50 ms | p99 ms | CPU µs/req | peak RSS MB | failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const pairs: Array<[string, string, string]> = [
    [SCENARIOS.small1, previous, CURRENT],
    [SCENARIOS.small64, previous, CURRENT],
    [SCENARIOS.open, previous, CURRENT],
    [SCENARIOS.large, previous, CURRENT],
    [SCENARIOS.large, asUrl(previous), asUrl(CURRENT)],
    [SCENARIOS.stream, previous, CURRENT],
  ];
  for (const [scenario, beforeName, afterName] of pairs) {
    const before = find(scenario, beforeName);
    const after = find(scenario, afterName);
    if (!before || !after) continue;
    const streaming = scenario === SCENARIOS.stream;
    lines.push(
      '| ' +
        [
          afterName === CURRENT ? scenario : `${scenario}, url`,
          streaming ? '—' : change(before.result.throughputRps, after.result.throughputRps, 0, true),
          change(before.result.meanMs, after.result.meanMs, 2),
          change(before.result.p50Ms, after.result.p50Ms, 2),
          change(before.result.p99Ms, after.result.p99Ms, 2),
          change(before.cpuUsPerRequest, after.cpuUsPerRequest, 0, true),
          change(before.peakRssMb, after.peakRssMb, 0),
          `${before.result.failures} → ${after.result.failures}`,
        ].join(' | ') +
        ' |',
    );
  }
  const idleBefore = run.idle.find((idle) => idle.target === previous);
  const idleAfter = run.idle.find((idle) => idle.target === CURRENT);
  if (idleBefore && idleAfter)
    lines.push(
      `| RSS MB ready / idle / idle after the run | | | | | | ${[
        change(idleBefore.justStarted, idleAfter.justStarted, 0),
        change(idleBefore.idleAtStart, idleAfter.idleAtStart, 0),
        change(idleBefore.idleAtEnd, idleAfter.idleAtEnd, 0),
      ].join(' / ')} | |`,
    );
  return lines;
}

/** The burst scenario's report: per target, RSS idle, peak in each round, 5 s after each, 30 s after the last; the checks. */
export function renderBursts(run: BurstRun, details: string[], elapsedSeconds: number): string {
  const { settings } = run;
  const mb = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en') : '—');
  const perRound = (values: number[]) => (values.length === 0 ? '—' : values.map(mb).join(' / '));
  const lines = [
    runLine(
      [
        ...details,
        `${settings.rounds} ${settings.rounds === 1 ? 'round' : 'rounds'} of ${settings.requests} concurrent requests, each answered with ${(settings.imageBase64Bytes / 2 ** 20).toFixed(1)} MiB of base64 (a ${(run.imageBytes / 2 ** 20).toFixed(1)} MiB PNG), all at once`,
      ],
      elapsedSeconds,
    ),
    '',
    '| target | RSS idle MB | peak RSS MB, each round | RSS MB 5 s after each round | RSS MB 30 s after the last | s per round | answers ok | images compared / differing | usage records |',
    '|---|---:|---|---|---:|---|---:|---:|---:|',
  ];
  const checks: string[] = [];
  for (const row of run.rows) {
    const ok = row.rounds.reduce((sum, round) => sum + round.ok, 0);
    lines.push(
      '| ' +
        [
          row.target,
          mb(row.idleRssMb),
          perRound(row.rounds.map((round) => round.peakRssMb)),
          perRound(row.rounds.map((round) => round.rssAfterMb)),
          mb(row.rssAfterLastMb),
          row.rounds.length === 0 ? '—' : row.rounds.map((round) => round.seconds.toFixed(1)).join(' / '),
          `${ok} / ${settings.rounds * settings.requests}`,
          `${row.imagesCompared} / ${row.imagesDiffering}`,
          row.usage ? `${row.usage.recorded} / ${row.usage.sent}` : '',
        ].join(' | ') +
        ' |',
    );
    checks.push(...problems(row, settings).map((problem) => `- **${row.target}**: ${problem}`));
  }
  lines.push('', ...(checks.length > 0 ? ['Problems found:', '', ...checks] : ['Every check passed.']));
  return lines.join('\n');
}

/** Replaces the `<!-- bench:<block>:start -->` … `end` block of `file` with `report`. */
export function writeResults(file: string, report: string, block = 'results'): void {
  const text = readFileSync(file, 'utf8');
  const start = `<!-- bench:${block}:start -->`;
  const end = `<!-- bench:${block}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${start} … ${end} block`);
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${report}\n${text.slice(to)}`);
  console.error(`wrote the ${block} block of ${file}`);
}
