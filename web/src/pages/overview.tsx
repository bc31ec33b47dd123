import { useEffect, useMemo, useState } from 'preact/hooks';
import { type GroupBy, listKeys, type Report, type Session, usageReport } from '../api';
import { StackedBars } from '../chart';
import { Card, ErrorNotice, Field, Loading } from '../components';
import { count, percent, usd } from '../format';
import { useLoad } from '../load';
import { type Metric, type Range, RANGES, rangeWindow, stackSeries } from '../usage-days';

const METRICS: Record<Metric, string> = { cost: 'Spend', requests: 'Requests', images: 'Images' };

export function OverviewPage({ session }: { session: Session }) {
  const admin = session.role === 'admin';
  const [range, setRange] = useState<Range>('30d');
  const [stackBy, setStackBy] = useState<GroupBy>('model');
  const [chosenMetric, setChosenMetric] = useState<Metric | undefined>();
  const [now, setNow] = useState(() => new Date());

  const headline = useLoad(() => {
    const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    // Up to a minute ahead of this browser's clock (a server's a little ahead still counts it all).
    const soon = new Date(now.getTime() + 60_000);
    const totals = (from: Date, to: Date) =>
      usageReport(session, { group_by: 'endpoint', from: from.toISOString(), to: to.toISOString() }).then(
        (report) => report.totals,
      );
    return Promise.all([totals(today, soon), totals(month, soon), totals(lastMonth, month)]);
  }, [session, now]);

  const span = useMemo(() => rangeWindow(range, now), [range, now]);
  const ranged = useLoad(() => {
    const query = { from: span.from, to: span.to };
    const tops: GroupBy[] = admin ? ['api_key', 'team', 'model'] : ['api_key', 'model'];
    return Promise.all([
      usageReport(session, { ...query, group_by: 'day', split_by: stackBy }),
      Promise.all(tops.map((group_by) => usageReport(session, { ...query, group_by }))),
      admin ? listKeys() : Promise.resolve([]),
    ]);
  }, [session, span, stackBy]);

  // Mark the first render with data, for the browser test's time to first render.
  useEffect(() => {
    if (ranged.data && headline.data && !performance.getEntriesByName('easel:overview-ready').length)
      performance.mark('easel:overview-ready');
  }, [ranged.data, headline.data]);

  const [byDay, tops, keys] = ranged.data ?? [];
  const keyNames = useMemo(() => new Map((keys ?? []).map((key) => [key.id, `${key.name} (${key.prefix})`])), [keys]);
  const nameOf = (groupBy: GroupBy, group: string) =>
    groupBy === 'api_key'
      ? (keyNames.get(group) ?? (group === '(none)' ? 'admin key' : `key ${group.slice(0, 8)}`))
      : group;

  // Spend unless there is none (the local models are free): then requests, saying so.
  const costless = byDay !== undefined && Number(byDay.totals.cost_usd) === 0 && byDay.totals.requests > 0;
  const metric: Metric = chosenMetric ?? (costless ? 'requests' : 'cost');
  const chart = useMemo(
    () => (byDay ? stackSeries(byDay.rows, span.days, metric, (group) => nameOf(stackBy, group)) : undefined),
    [byDay, span.days, metric, stackBy, keyNames],
  );
  const format = useMemo(
    () => (metric === 'cost' ? (value: number) => usd(String(value)) : (value: number) => count(Math.round(value))),
    [metric],
  );

  const [today, month, lastMonth] = headline.data ?? [];
  const totals = byDay?.totals;
  return (
    <>
      <section class="cards" aria-label="Spend">
        <Card
          label="Spend today (UTC)"
          value={today ? usd(today.cost_usd) : '…'}
          detail={today && `${count(today.requests)} requests`}
        />
        <Card
          label="This month"
          value={month ? usd(month.cost_usd) : '…'}
          detail={month && `${count(month.requests)} requests`}
        />
        <Card
          label="Last month"
          value={lastMonth ? usd(lastMonth.cost_usd) : '…'}
          detail={lastMonth && `${count(lastMonth.requests)} requests`}
        />
        <Card label={`Requests, ${RANGES[range].toLowerCase()}`} value={totals ? count(totals.requests) : '…'} />
        <Card label="Images" value={totals ? count(totals.images) : '…'} />
        <Card
          label="Error rate"
          value={totals ? percent(totals.errors, totals.requests) : '…'}
          detail={totals && `${count(totals.errors)} errors`}
        />
      </section>
      <ErrorNotice error={headline.error} />

      <section aria-labelledby="per-day">
        <div class="section-head">
          <h2 id="per-day">
            {METRICS[metric]} per day, by {stackBy === 'api_key' ? 'key' : stackBy}
          </h2>
          <div class="controls">
            <Field label="Range">
              <select value={range} onChange={(event) => setRange(event.currentTarget.value as Range)}>
                {Object.entries(RANGES).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Stacked by">
              <select value={stackBy} onChange={(event) => setStackBy(event.currentTarget.value as GroupBy)}>
                <option value="model">Model</option>
                {admin ? <option value="team">Team</option> : <option value="api_key">Key</option>}
              </select>
            </Field>
            <Field label="Show">
              <select value={metric} onChange={(event) => setChosenMetric(event.currentTarget.value as Metric)}>
                {Object.entries(METRICS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <button class="secondary" onClick={() => setNow(new Date())}>
              Refresh
            </button>
          </div>
        </div>
        {costless && chosenMetric === undefined && (
          <p class="muted small">No spend in this range (the requests were free): showing requests.</p>
        )}
        <ErrorNotice error={ranged.error} />
        <Loading when={ranged.loading && !chart} />
        {chart && (
          <StackedBars
            days={span.days}
            series={chart}
            format={format}
            wholeNumbers={metric !== 'cost'}
            label={`${METRICS[metric]} per UTC day, ${RANGES[range].toLowerCase()}, stacked by ${stackBy}`}
          />
        )}
      </section>

      {tops && (
        <section class="tops" aria-label="Top spenders">
          {tops.map((report) => (
            <Top
              key={report.group_by}
              title={`Top ${report.group_by === 'api_key' ? 'keys' : `${report.group_by}s`}`}
              report={report}
              name={(group) => nameOf(report.group_by as GroupBy, group)}
            />
          ))}
        </section>
      )}
    </>
  );
}

function Top({ title, report, name }: { title: string; report: Report; name: (group: string) => string }) {
  const rows = [...report.rows]
    .sort((a, b) => Number(b.cost_usd) - Number(a.cost_usd) || b.requests - a.requests)
    .slice(0, 5);
  return (
    <div class="panel">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p class="muted">No requests in this range.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="num">
                Requests
              </th>
              <th scope="col" class="num">
                Spend
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.group}>
                <td class="truncate" title={row.group}>
                  {name(row.group)}
                </td>
                <td class="num">{count(row.requests)}</td>
                <td class="num" title={`$${row.cost_usd}`}>
                  {usd(row.cost_usd)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
