import { useState } from 'preact/hooks';
import { listModels, listPrices, type Model, priceHistory, type PriceVersion, type Session } from '../api';
import { Badge, ErrorNotice, Loading } from '../components';
import { dateTime, day } from '../format';
import { useLoad } from '../load';

const TOKEN_KINDS: Array<[string, string]> = [
  ['input_text', 'text in'],
  ['input_text_cached', 'cached text in'],
  ['input_image', 'image in'],
  ['input_image_cached', 'cached image in'],
  ['output_text', 'text out'],
  ['output_image', 'image out'],
];

export function ModelsPage({ session }: { session: Session }) {
  const admin = session.role === 'admin';
  const loaded = useLoad(
    () => Promise.all([listModels(session.role), admin ? listPrices() : Promise.resolve(undefined)]),
    [admin],
  );
  const [models, prices] = loaded.data ?? [];
  const priceOf = new Map((prices ?? []).map((price) => [price.model, price]));
  return (
    <>
      {!admin && <p class="muted small">Prices are shown to admins; every request's cost is on the Requests page.</p>}
      <ErrorNotice error={loaded.error} />
      <Loading when={loaded.loading && !models} />
      <div class="models">
        {(models ?? []).map((model) => (
          <ModelCard key={model.id} model={model} price={priceOf.get(model.id)} admin={admin} />
        ))}
      </div>
    </>
  );
}

function Lifecycle({ model }: { model: Model }) {
  const today = new Date().toISOString().slice(0, 10);
  const retired = model.shutdown_date !== null && model.shutdown_date <= today;
  return (
    <>
      {!model.available && <Badge tone="bad">unavailable</Badge>}
      {retired ? (
        <Badge tone="bad">retired {model.shutdown_date}</Badge>
      ) : model.deprecated ? (
        <Badge tone="warn">deprecated{model.shutdown_date ? `, shuts down ${model.shutdown_date}` : ''}</Badge>
      ) : model.shutdown_date ? (
        <Badge tone="info">shuts down {model.shutdown_date}</Badge>
      ) : null}
    </>
  );
}

function ModelCard({ model, price, admin }: { model: Model; price?: PriceVersion; admin: boolean }) {
  const [history, setHistory] = useState<{ versions?: PriceVersion[]; error?: Error; open: boolean }>({ open: false });
  const caps = model.capabilities;
  return (
    <article class="panel model" aria-labelledby={`model-${model.id}`}>
      <h2 id={`model-${model.id}`}>
        <code>{model.id}</code> <Lifecycle model={model} />
      </h2>
      <p class="small muted">
        {model.description} Provider <code>{model.provider}</code>.
        {model.successor && (
          <>
            {' '}
            Successor: <code>{model.successor}</code>.
          </>
        )}
        {model.unavailable_reason && ` ${model.unavailable_reason}.`}
      </p>
      <dl class="caps">
        <div>
          <dt>Endpoints</dt>
          <dd>
            {model.endpoints.join(', ')}
            {caps.edits && ', edits'}
            {caps.streaming && ' · streaming'}
          </dd>
        </div>
        <div>
          <dt>Sizes</dt>
          <dd>{caps.sizes.join(', ')}</dd>
        </div>
        <div>
          <dt>Quality / formats</dt>
          <dd>
            {caps.qualities.join(', ')} / {caps.output_formats.join(', ')}
          </dd>
        </div>
        <div>
          <dt>Images per request</dt>
          <dd>up to {caps.max_n}</dd>
        </div>
      </dl>
      {admin && price && (
        <>
          <h3>Prices in force (USD)</h3>
          <PriceTable versions={[price]} />
          <button
            class="link"
            aria-expanded={history.open}
            onClick={() => {
              if (history.open) return setHistory({ ...history, open: false });
              setHistory({ ...history, open: true });
              if (!history.versions)
                priceHistory(model.id).then(
                  (versions) => setHistory({ versions, open: true }),
                  (error: Error) => setHistory({ error, open: true }),
                );
            }}
          >
            {history.open ? 'Hide price history' : 'Price history'}
          </button>
          {history.open && (
            <>
              <ErrorNotice error={history.error} />
              {history.versions ? <PriceTable versions={history.versions} /> : !history.error && <Loading when />}
            </>
          )}
        </>
      )}
    </article>
  );
}

function PriceTable({ versions }: { versions: PriceVersion[] }) {
  return (
    <div class="table-scroll">
      <table class="small">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">From</th>
            {TOKEN_KINDS.map(([, label]) => (
              <th scope="col" class="num" key={label}>
                {label} / 1M
              </th>
            ))}
            <th scope="col" class="num">
              per image
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((version) => (
            <tr key={version.version}>
              <td>
                v{version.version} <span class="muted">({version.source})</span>
              </td>
              <td title={dateTime(version.effective_from)}>{day(version.effective_from)}</td>
              {TOKEN_KINDS.map(([kind]) => (
                <td class="num" key={kind}>
                  {version.per_million_tokens[kind] ?? '—'}
                </td>
              ))}
              <td class="num">{version.per_image}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
