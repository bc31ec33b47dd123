import { useMemo, useState } from 'preact/hooks';
import {
  type ApiKey,
  createKey,
  type KeyChanges,
  listKeys,
  listModels,
  listTeams,
  type Model,
  revokeKey,
  updateKey,
} from '../api';
import { Badge, BudgetBar, Dialog, ErrorNotice, Field, Loading } from '../components';
import { dateTime, day, usd } from '../format';
import { useLoad } from '../load';

type Status = 'active' | 'revoked' | 'expired';
const STATUS_LABELS: Record<Status | 'all', string> = {
  active: 'Active',
  expired: 'Expired',
  revoked: 'Revoked',
  all: 'All',
};

function statusOf(key: ApiKey, now: number): Status {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && Date.parse(key.expires_at) <= now) return 'expired';
  return 'active';
}

type Editing =
  | { kind: 'new' }
  | { kind: 'edit'; key: ApiKey }
  | { kind: 'revoke'; key: ApiKey }
  | { kind: 'secret'; key: ApiKey & { key: string } };

export function KeysPage() {
  const loaded = useLoad(() => Promise.all([listKeys(), listTeams(), listModels('admin')]), []);
  const [keys, teams, models] = loaded.data ?? [];
  const [search, setSearch] = useState('');
  const [team, setTeam] = useState('');
  const [status, setStatus] = useState<Status | 'all'>('active');
  const [editing, setEditing] = useState<Editing>();
  const now = Date.now();
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return (keys ?? []).filter(
      (key) =>
        (team === '' || key.team === team) &&
        (status === 'all' || statusOf(key, now) === status) &&
        (needle === '' || key.name.toLowerCase().includes(needle) || key.prefix.toLowerCase().includes(needle)),
    );
  }, [keys, search, team, status, now]);
  const close = () => setEditing(undefined);
  const changed = (next?: Editing) => {
    setEditing(next);
    loaded.reload();
  };

  return (
    <>
      <div class="section-head">
        <div class="controls" role="search" aria-label="Filter keys">
          <Field label="Name or prefix">
            <input type="search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
          </Field>
          <Field label="Team">
            <select value={team} onChange={(event) => setTeam(event.currentTarget.value)}>
              <option value="">All teams</option>
              {(teams ?? []).map((one) => (
                <option key={one.id} value={one.name}>
                  {one.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Status">
            <select value={status} onChange={(event) => setStatus(event.currentTarget.value as Status | 'all')}>
              {Object.entries(STATUS_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <button onClick={() => setEditing({ kind: 'new' })} disabled={!teams}>
          New key
        </button>
      </div>
      <ErrorNotice error={loaded.error} />
      <Loading when={loaded.loading && !keys} />
      {keys && (
        <div class="table-scroll">
          <table class="rows">
            <caption class="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Team</th>
                <th scope="col">Limits</th>
                <th scope="col">Models</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.length === 0 && (
                <tr>
                  <td colSpan={8} class="muted">
                    No keys match.
                  </td>
                </tr>
              )}
              {shown.map((key) => {
                const keyStatus = statusOf(key, now);
                return (
                  <tr key={key.id}>
                    <th scope="row">
                      {key.name}
                      <div>
                        <code class="small">{key.prefix}</code>
                        {key.admin && <Badge tone="info">admin</Badge>}
                      </div>
                    </th>
                    <td>{key.team}</td>
                    <td class="small">
                      {key.rpm === null ? 'default rpm' : `${key.rpm} rpm`}
                      <br />
                      {key.monthly_budget_usd === null ? (
                        'no budget'
                      ) : (
                        <>
                          {usd(key.spent_usd ?? '0')} of {usd(key.monthly_budget_usd)}
                          <BudgetBar
                            label={`Budget of ${key.name}`}
                            spent={key.spent_usd}
                            reserved={key.reserved_usd}
                            limit={key.monthly_budget_usd}
                          />
                        </>
                      )}
                    </td>
                    <td class="small">
                      {key.allowed_models === null ? 'all' : key.allowed_models.join(', ') || 'none'}
                    </td>
                    <td class="small">{key.expires_at ? dateTime(key.expires_at) : 'never'}</td>
                    <td class="small">{day(key.last_used_at)}</td>
                    <td>
                      <Badge tone={keyStatus === 'active' ? 'ok' : 'bad'}>{keyStatus}</Badge>
                    </td>
                    <td class="actions">
                      {keyStatus !== 'revoked' && (
                        <>
                          <button
                            class="secondary"
                            onClick={() => setEditing({ kind: 'edit', key })}
                            aria-label={`Edit ${key.name}`}
                          >
                            Edit
                          </button>
                          <button
                            class="danger"
                            onClick={() => setEditing({ kind: 'revoke', key })}
                            aria-label={`Revoke ${key.name}`}
                          >
                            Revoke
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <Dialog title="New key" open={editing?.kind === 'new'} onClose={close}>
        {editing?.kind === 'new' && teams && models && (
          <KeyForm
            teams={teams.map((one) => one.name)}
            models={models}
            submitLabel="Create key"
            onCancel={close}
            onSubmit={(changes) =>
              createKey({ ...changes, name: changes.name ?? '', team: changes.team ?? '' }).then((created) =>
                changed({ kind: 'secret', key: created }),
              )
            }
          />
        )}
      </Dialog>
      <Dialog
        title={editing?.kind === 'edit' ? `Edit ${editing.key.name}` : 'Edit'}
        open={editing?.kind === 'edit'}
        onClose={close}
      >
        {editing?.kind === 'edit' && models && (
          <KeyForm
            existing={editing.key}
            models={models}
            submitLabel="Save"
            onCancel={close}
            onSubmit={(changes) => updateKey(editing.key.id, changes).then(() => changed())}
          />
        )}
      </Dialog>
      <Dialog title="Revoke this key?" open={editing?.kind === 'revoke'} onClose={close}>
        {editing?.kind === 'revoke' && (
          <RevokeConfirm apiKey={editing.key} onCancel={close} onRevoked={() => changed()} />
        )}
      </Dialog>
      <Dialog title="Copy the key now" open={editing?.kind === 'secret'} onClose={close}>
        {editing?.kind === 'secret' && <ShownOnce created={editing.key} onDone={close} />}
      </Dialog>
    </>
  );
}

/** The key form: all fields for a new key; rpm, budget, models and expiry for an existing one (empty = none). */
function KeyForm({
  existing,
  teams,
  models,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  existing?: ApiKey;
  teams?: string[];
  models: Model[];
  submitLabel: string;
  onSubmit: (changes: KeyChanges) => Promise<void>;
  onCancel: () => void;
}) {
  const [name, setName] = useState(existing?.name ?? '');
  const [team, setTeam] = useState(existing?.team ?? teams?.[0] ?? '');
  const [admin, setAdmin] = useState(false);
  const [rpm, setRpm] = useState(existing?.rpm?.toString() ?? '');
  const [budget, setBudget] = useState(existing?.monthly_budget_usd ?? '');
  const [restricted, setRestricted] = useState(existing?.allowed_models != null);
  const [allowed, setAllowed] = useState<Set<string>>(new Set(existing?.allowed_models ?? []));
  const [expires, setExpires] = useState(existing?.expires_at ? existing.expires_at.slice(0, 16) : '');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const submit = (event: Event) => {
    event.preventDefault();
    const changes: KeyChanges = {
      rpm: rpm.trim() === '' ? null : Number(rpm),
      monthly_budget_usd: budget.trim() === '' ? null : budget.trim(),
      allowed_models: restricted ? [...allowed] : null,
    };
    // Sent only when changed: the field shows minutes, and sending it back would cut the seconds.
    const shownExpiry = existing?.expires_at ? existing.expires_at.slice(0, 16) : '';
    if (!existing || expires !== shownExpiry) changes.expires_at = expires === '' ? null : `${expires}:00Z`;
    if (!existing) Object.assign(changes, { name: name.trim(), team, admin });
    setBusy(true);
    setError(undefined);
    onSubmit(changes).catch((failure: Error) => {
      setError(failure);
      setBusy(false);
    });
  };

  return (
    <form onSubmit={submit} class="stack">
      {!existing && (
        <>
          <Field label="Name" hint="Who or what uses it, e.g. checkout-banner-service">
            <input required maxLength={100} value={name} onInput={(event) => setName(event.currentTarget.value)} />
          </Field>
          <Field label="Team">
            <select required value={team} onChange={(event) => setTeam(event.currentTarget.value)}>
              {(teams ?? []).map((one) => (
                <option key={one} value={one}>
                  {one}
                </option>
              ))}
            </select>
          </Field>
          <label class="check">
            <input type="checkbox" checked={admin} onChange={(event) => setAdmin(event.currentTarget.checked)} />
            Admin key (can use the admin API and this console's admin pages)
          </label>
        </>
      )}
      <Field label="Requests per minute" hint="Empty: the server's default">
        <input type="number" min={1} step={1} value={rpm} onInput={(event) => setRpm(event.currentTarget.value)} />
      </Field>
      <Field label="Monthly budget (USD)" hint="Empty: no budget of its own (the team's still applies)">
        <input inputMode="decimal" value={budget} onInput={(event) => setBudget(event.currentTarget.value)} />
      </Field>
      <Field label="Expires (UTC)" hint="Empty: never">
        <input type="datetime-local" value={expires} onInput={(event) => setExpires(event.currentTarget.value)} />
      </Field>
      <fieldset>
        <legend>Models</legend>
        <label class="check">
          <input
            type="checkbox"
            checked={restricted}
            onChange={(event) => setRestricted(event.currentTarget.checked)}
          />
          Only the models checked below (unchecked: every model)
        </label>
        {restricted && (
          <div class="model-list">
            {models.map((model) => (
              <label class="check" key={model.id}>
                <input
                  type="checkbox"
                  checked={allowed.has(model.id)}
                  onChange={(event) => {
                    const next = new Set(allowed);
                    if (event.currentTarget.checked) next.add(model.id);
                    else next.delete(model.id);
                    setAllowed(next);
                  }}
                />
                <code>{model.id}</code>
              </label>
            ))}
          </div>
        )}
      </fieldset>
      <ErrorNotice error={error} />
      <div class="buttons">
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

function RevokeConfirm({
  apiKey,
  onCancel,
  onRevoked,
}: {
  apiKey: ApiKey;
  onCancel: () => void;
  onRevoked: () => void;
}) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  return (
    <div class="stack">
      <p>
        <strong>{apiKey.name}</strong> (<code>{apiKey.prefix}</code>, team {apiKey.team}) stops working on every
        instance within seconds, and its console sessions end. This cannot be undone.
      </p>
      <ErrorNotice error={error} />
      <div class="buttons">
        <button type="button" class="secondary" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            revokeKey(apiKey.id).then(onRevoked, (failure: Error) => {
              setError(failure);
              setBusy(false);
            });
          }}
        >
          Revoke key
        </button>
      </div>
    </div>
  );
}

function ShownOnce({ created, onDone }: { created: ApiKey & { key: string }; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean>();
  return (
    <div class="stack">
      <p>
        The key <strong>{created.name}</strong> of team {created.team}. This is the only time it is shown: Easel keeps
        only its hash.
      </p>
      <Field label="Secret key">
        <input class="secret" readOnly value={created.key} onFocus={(event) => event.currentTarget.select()} />
      </Field>
      <div class="buttons">
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void navigator.clipboard.writeText(created.key).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
      <p role="status" class="small">
        {copied === true && 'Copied to the clipboard.'}
        {copied === false && 'The browser did not allow copying: select the key and copy it yourself.'}
      </p>
    </div>
  );
}
