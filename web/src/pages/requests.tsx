import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type ApiKey,
  listKeys,
  listModels,
  listTeams,
  type Session,
  thumbnailUrl,
  type UsageFilter,
  type UsageRecord,
  usageRecords,
} from '../api';
import { Badge, ErrorNotice, Field, Loading } from '../components';
import { count, dateTime, ms, usd } from '../format';
import { useLoad } from '../load';

const ENDPOINTS = ['images', 'images.edits', 'chat', 'models', 'usage'];
const PAGE_SIZE = 50;

/** `datetime-local` values are read as UTC, as the reports are. */
const toIso = (local: string) => (local ? `${local}:00Z` : undefined);

export function RequestsPage({ session }: { session: Session }) {
  const admin = session.role === 'admin';
  const [filter, setFilter] = useState<UsageFilter>({});
  const [records, setRecords] = useState<UsageRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [open, setOpen] = useState<string>();
  const [more, setMore] = useState<{ loading: boolean; error?: Error }>({ loading: false });

  const choices = useLoad(
    () =>
      Promise.all([
        listModels(session.role),
        admin ? listTeams() : Promise.resolve([]),
        admin ? listKeys() : Promise.resolve([]),
      ]),
    [admin],
  );
  const [models, teams, keys] = choices.data ?? [];
  const keyNames = useMemo(() => new Map((keys ?? []).map((key: ApiKey) => [key.id, key])), [keys]);

  const first = useLoad(() => usageRecords(session, { ...filter, limit: PAGE_SIZE }), [session, filter]);
  useEffect(() => {
    if (!first.data) return;
    setRecords(first.data.data);
    setCursor(first.data.next_cursor);
  }, [first.data]);

  /** Bumped when the rows shown start again (a filter changed, Refresh): a page asked before is dropped. */
  const listing = useRef(0);
  const startOver = () => {
    listing.current++;
    setRecords([]);
    setCursor(null);
    setMore({ loading: false });
  };
  const loadMore = () => {
    if (!cursor) return;
    const asked = listing.current;
    setMore({ loading: true });
    usageRecords(session, { ...filter, limit: PAGE_SIZE, cursor }).then(
      (page) => {
        if (listing.current !== asked) return;
        setRecords((shown) => [...shown, ...page.data]);
        setCursor(page.next_cursor);
        setMore({ loading: false });
      },
      (error: Error) => setMore({ loading: false, error }),
    );
  };
  const set = (name: keyof UsageFilter) => (event: Event) => {
    const value = (event.currentTarget as HTMLInputElement | HTMLSelectElement).value;
    const next = { ...filter, [name]: name === 'from' || name === 'to' ? toIso(value) : value || undefined };
    // The rows of the old filter go at once (no "more" of them, no stale rows under new filters).
    startOver();
    setFilter(next);
  };

  return (
    <>
      <form
        class="controls filters"
        role="search"
        aria-label="Filter requests"
        onSubmit={(event) => event.preventDefault()}
      >
        {admin && (
          <Field label="Team">
            <select value={filter.team ?? ''} onChange={set('team')}>
              <option value="">All</option>
              {(teams ?? []).map((team) => (
                <option key={team.id}>{team.name}</option>
              ))}
            </select>
          </Field>
        )}
        {admin ? (
          <Field label="Key">
            <select value={filter.api_key ?? ''} onChange={set('api_key')}>
              <option value="">All</option>
              {(keys ?? [])
                .filter((key) => !filter.team || key.team === filter.team)
                .map((key) => (
                  <option key={key.id} value={key.id}>
                    {key.name} ({key.prefix})
                  </option>
                ))}
            </select>
          </Field>
        ) : (
          <Field label="Key id">
            <input value={filter.api_key ?? ''} onChange={set('api_key')} placeholder="any key of the team" />
          </Field>
        )}
        <Field label="Model">
          <select value={filter.model ?? ''} onChange={set('model')}>
            <option value="">All</option>
            {(models ?? []).map((model) => (
              <option key={model.id}>{model.id}</option>
            ))}
          </select>
        </Field>
        <Field label="Endpoint">
          <select value={filter.endpoint ?? ''} onChange={set('endpoint')}>
            <option value="">All</option>
            {ENDPOINTS.map((endpoint) => (
              <option key={endpoint}>{endpoint}</option>
            ))}
          </select>
        </Field>
        <Field label="Status">
          <select value={filter.status ?? ''} onChange={set('status')}>
            <option value="">All</option>
            <option value="success">success</option>
            <option value="error">error</option>
          </select>
        </Field>
        <Field label="From (UTC)">
          <input type="datetime-local" value={filter.from?.slice(0, 16) ?? ''} onChange={set('from')} />
        </Field>
        <Field label="To (UTC)">
          <input type="datetime-local" value={filter.to?.slice(0, 16) ?? ''} onChange={set('to')} />
        </Field>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            startOver();
            first.reload();
          }}
        >
          Refresh
        </button>
      </form>
      {!filter.from && <p class="muted small">From the start of this month (UTC), newest first.</p>}
      <ErrorNotice error={first.error} />
      <Loading when={first.loading && records.length === 0} />
      <div class="table-scroll">
        <table class="rows requests">
          <caption class="visually-hidden">Requests, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Key</th>
              <th scope="col">Model</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Images
              </th>
              <th scope="col" class="num">
                Cost
              </th>
              <th scope="col" class="num">
                Latency
              </th>
            </tr>
          </thead>
          <tbody>
            {!first.loading && records.length === 0 && (
              <tr>
                <td colSpan={8} class="muted">
                  No requests match.
                </td>
              </tr>
            )}
            {records.map((record) => {
              const expanded = open === record.id;
              const key = record.api_key_id ? keyNames.get(record.api_key_id) : undefined;
              return [
                <tr key={record.id} class={expanded ? 'open' : ''}>
                  <td>
                    <button
                      class="link"
                      aria-expanded={expanded}
                      aria-controls={`record-${record.id}`}
                      onClick={() => setOpen(expanded ? undefined : record.id)}
                    >
                      {dateTime(record.created_at)}
                    </button>
                  </td>
                  <td class="truncate" title={record.api_key_id ?? 'admin key'}>
                    {key ? key.name : record.api_key_id ? record.api_key_id.slice(0, 8) : 'admin key'}
                    {admin && <div class="small muted">{record.team}</div>}
                  </td>
                  <td class="truncate" title={record.model ?? ''}>
                    {record.model ?? '—'}
                  </td>
                  <td>{record.endpoint}</td>
                  <td>
                    <Badge tone={record.status === 'success' ? 'ok' : 'bad'}>{record.http_status}</Badge>
                  </td>
                  <td class="num">{record.images}</td>
                  <td class="num" title={`$${record.cost_usd}`}>
                    {usd(record.cost_usd)}
                  </td>
                  <td class="num">{ms(record.latency_ms)}</td>
                </tr>,
                expanded && (
                  <tr key={`${record.id}-detail`} id={`record-${record.id}`} class="detail">
                    <td colSpan={8}>
                      <RecordDetail session={session} record={record} keyName={key?.name} />
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      </div>
      <ErrorNotice error={more.error} />
      {cursor && (
        <button class="secondary" onClick={loadMore} disabled={more.loading}>
          {more.loading ? 'Loading…' : `Load ${PAGE_SIZE} more`}
        </button>
      )}
      {!cursor && records.length > 0 && <p class="muted small">{count(records.length)} requests: that is all.</p>}
    </>
  );
}

function RecordDetail({ session, record, keyName }: { session: Session; record: UsageRecord; keyName?: string }) {
  const facts: Array<[string, string]> = [
    ['Request id', record.request_id],
    ['Key', keyName ? `${keyName} (${record.api_key_id})` : (record.api_key_id ?? 'admin key')],
    ['Team', record.team],
    [
      'Model',
      record.served_model && record.served_model !== record.model
        ? `${record.model} → served by ${record.served_model}`
        : (record.model ?? '—'),
    ],
    ['Provider / route', `${record.provider ?? '—'} / ${record.route ?? '—'}`],
    ['HTTP status', `${record.http_status}${record.error_code ? ` · ${record.error_code}` : ''}`],
    ['Latency', `${ms(record.latency_ms)} (upstream ${ms(record.upstream_latency_ms)})`],
    ['Size / quality', `${record.size ?? '—'} / ${record.quality ?? '—'}`],
    [
      'Input tokens',
      `${count(record.input_tokens)} (text ${count(record.input_text_tokens)}, image ${count(record.input_image_tokens)}, cached ${count(record.cached_input_tokens)})`,
    ],
    [
      'Output tokens',
      `${count(record.output_tokens)} (text ${count(record.output_text_tokens)}, image ${count(record.output_image_tokens)})`,
    ],
    ['Cost', `$${record.cost_usd}${record.price_version === null ? '' : ` (price version ${record.price_version})`}`],
  ];
  if (record.user) facts.push(['User', record.user]);
  return (
    <div class="record">
      <dl>
        {facts.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {record.status === 'success' && record.images > 0 && (
        <div class="thumbnails" aria-label="Previews">
          {Array.from({ length: Math.min(record.images, 10) }, (_, index) => (
            <Thumbnail
              key={index}
              src={thumbnailUrl(session, record, index)}
              alt={`Image ${index + 1} of request ${record.request_id}`}
            />
          ))}
        </div>
      )}
    </div>
  );
}

/** A stored preview (CONSOLE_THUMBNAILS=true); none when previews are off or expired. */
function Thumbnail({ src, alt }: { src: string; alt: string }) {
  const [missing, setMissing] = useState(false);
  if (missing) return null;
  return (
    <img
      class="thumbnail"
      src={src}
      alt={alt}
      width={128}
      height={128}
      loading="lazy"
      onError={() => setMissing(true)}
    />
  );
}
