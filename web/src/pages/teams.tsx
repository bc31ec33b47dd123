import { useState } from 'preact/hooks';
import { createTeam, listKeys, listTeams, type Session, usageReport } from '../api';
import { BudgetBar, ErrorNotice, Field, Loading } from '../components';
import { count, day, usd } from '../format';
import { useLoad } from '../load';

export function TeamsPage({ session }: { session: Session }) {
  const loaded = useLoad(
    () =>
      Promise.all([
        listTeams(),
        listKeys(),
        // This month so far (the report's default window), per team.
        usageReport(session, { group_by: 'team' }),
      ]),
    [session],
  );
  const [open, setOpen] = useState<string>();
  const [teams, keys, month] = loaded.data ?? [];
  const monthByTeam = new Map((month?.rows ?? []).map((row) => [row.group, row]));
  return (
    <>
      <NewTeam onCreated={loaded.reload} />
      <ErrorNotice error={loaded.error} />
      <Loading when={loaded.loading && !teams} />
      {teams && (
        <div class="table-scroll">
          <table class="rows">
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col" class="wide">
                  Budget this month (spent, reserved, limit)
                </th>
                <th scope="col" class="num">
                  Spend this month
                </th>
                <th scope="col" class="num">
                  Requests
                </th>
                <th scope="col" class="num">
                  Keys
                </th>
              </tr>
            </thead>
            <tbody>
              {teams.map((team) => {
                const members = (keys ?? []).filter((key) => key.team === team.name);
                const active = members.filter((key) => !key.revoked_at);
                const usage = monthByTeam.get(team.name);
                const expanded = open === team.id;
                return [
                  <tr key={team.id}>
                    <th scope="row">
                      <button
                        class="link"
                        aria-expanded={expanded}
                        aria-controls={`team-${team.id}`}
                        onClick={() => setOpen(expanded ? undefined : team.id)}
                      >
                        {team.name}
                      </button>
                    </th>
                    <td>
                      <BudgetBar
                        label={`Budget of ${team.name}`}
                        spent={team.spent_usd}
                        reserved={team.reserved_usd}
                        limit={team.monthly_budget_usd}
                      />
                      {team.monthly_budget_usd !== null && (
                        <span class="small muted">
                          {usd(team.spent_usd ?? '0')} spent · {usd(team.reserved_usd ?? '0')} reserved · limit{' '}
                          {usd(team.monthly_budget_usd)}
                        </span>
                      )}
                    </td>
                    <td class="num" title={usage ? `$${usage.cost_usd}` : undefined}>
                      {usd(usage?.cost_usd ?? '0')}
                    </td>
                    <td class="num">{count(usage?.requests ?? 0)}</td>
                    <td class="num">
                      {active.length}
                      {members.length > active.length && (
                        <span class="muted"> (+{members.length - active.length} revoked)</span>
                      )}
                    </td>
                  </tr>,
                  expanded && (
                    <tr key={`${team.id}-keys`} id={`team-${team.id}`} class="detail">
                      <td colSpan={5}>
                        {members.length === 0 ? (
                          <p class="muted">No keys yet.</p>
                        ) : (
                          <ul class="plain">
                            {members.map((key) => (
                              <li key={key.id}>
                                <strong>{key.name}</strong> <code>{key.prefix}</code>
                                {key.admin && ' · admin'}
                                {key.revoked_at
                                  ? ` · revoked ${day(key.revoked_at)}`
                                  : ` · last used ${day(key.last_used_at)}`}
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function NewTeam({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [budget, setBudget] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    createTeam(name.trim(), budget.trim() === '' ? null : budget.trim()).then(
      () => {
        setName('');
        setBudget('');
        setBusy(false);
        onCreated();
      },
      (failure: Error) => {
        setError(failure);
        setBusy(false);
      },
    );
  };
  return (
    <details class="panel">
      <summary>New team</summary>
      <form class="inline" onSubmit={submit}>
        <Field label="Name">
          <input required maxLength={100} value={name} onInput={(event) => setName(event.currentTarget.value)} />
        </Field>
        <Field label="Monthly budget (USD)" hint="Empty: none">
          <input inputMode="decimal" value={budget} onInput={(event) => setBudget(event.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={busy}>
          Create team
        </button>
      </form>
      <ErrorNotice error={error} />
    </details>
  );
}
