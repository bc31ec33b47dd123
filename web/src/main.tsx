import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, type Session, signIn, signOut, whenSessionEnds } from './api';
import { ErrorNotice, Field, Loading } from './components';
import { KeysPage } from './pages/keys';
import { ModelsPage } from './pages/models';
import { OverviewPage } from './pages/overview';
import { RequestsPage } from './pages/requests';
import { TeamsPage } from './pages/teams';
import { onLinkClick, type Page, pageOf, PAGES, useLocation } from './router';

const TITLES: Record<Page, string> = {
  overview: 'Overview',
  teams: 'Teams',
  keys: 'Keys',
  requests: 'Requests',
  models: 'Models',
};
const ADMIN_ONLY = new Set<Page>(['teams', 'keys']);

function App() {
  /** undefined: not known yet; null: signed out. */
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    whenSessionEnds((reason) => {
      setSession(null);
      setNotice(`Your session has ended (${reason}). Sign in again.`);
    });
    currentSession().then(
      (current) => setSession(current ?? null),
      (failure: Error) => setError(failure),
    );
  }, []);

  if (error) return <ErrorNotice error={error} />;
  if (session === undefined) return <Loading when />;
  if (session === null)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedIn) => {
          setNotice(undefined);
          setSession(signedIn);
        }}
      />
    );
  return (
    <Shell
      session={session}
      onSignedOut={() => {
        setNotice('Signed out.');
        setSession(null);
      }}
    />
  );
}

function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    document.title = 'Sign in · Easel console';
  }, []);
  const submit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    signIn(key.trim()).then(
      (session) => {
        setKey('');
        onSignedIn(session);
      },
      (failure: Error) => {
        setError(failure);
        setBusy(false);
      },
    );
  };
  return (
    <main class="sign-in">
      <h1>Easel console</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit}>
        <Field label="API key" hint="An admin key sees everything; a team's key sees its own team, read-only.">
          <input
            type="password"
            name="key"
            autoComplete="off"
            spellcheck={false}
            required
            value={key}
            onInput={(event) => setKey(event.currentTarget.value)}
            placeholder="sk-easel-…"
          />
        </Field>
        <ErrorNotice error={error} />
        <button type="submit" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="muted small">
        The key is exchanged for a session cookie and not kept by the browser. The session lasts 12 hours, or until the
        key is revoked.
      </p>
    </main>
  );
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const { pathname } = useLocation();
  const page = pageOf(pathname);
  const [menuOpen, setMenuOpen] = useState(false);
  const title = page ? TITLES[page] : 'Not found';
  useEffect(() => {
    document.title = `${title} · Easel console`;
    setMenuOpen(false);
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [title]);
  const visible = (Object.keys(PAGES) as Page[]).filter((one) => session.role === 'admin' || !ADMIN_ONLY.has(one));
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={PAGES.overview} onClick={onLinkClick}>
          Easel
        </a>
        <button
          class="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <nav id="nav" class={menuOpen ? 'open' : ''} aria-label="Console">
          {visible.map((one) => (
            <a key={one} href={PAGES[one]} onClick={onLinkClick} aria-current={page === one ? 'page' : undefined}>
              {TITLES[one]}
            </a>
          ))}
        </nav>
        <div class="who">
          <span title={`key ${session.key_prefix}`}>
            {session.role === 'admin' ? 'Admin' : `Team ${session.team}`}
            <span class="muted"> · {session.key_prefix}</span>
          </span>
          <button class="secondary" onClick={() => void signOut().finally(onSignedOut)}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <h1 tabIndex={-1}>{title}</h1>
        <Content page={page} session={session} />
      </main>
    </>
  );
}

function Content({ page, session }: { page: Page | undefined; session: Session }) {
  if (!page)
    return (
      <p>
        No such page.{' '}
        <a href={PAGES.overview} onClick={onLinkClick}>
          Go to the overview
        </a>
        .
      </p>
    );
  if (ADMIN_ONLY.has(page) && session.role !== 'admin')
    return (
      <p class="notice" role="alert">
        This page is for admins. You are signed in with a key of team <strong>{session.team}</strong>, which can read
        its own team's usage and the models, not change keys or teams.
      </p>
    );
  switch (page) {
    case 'overview':
      return <OverviewPage session={session} />;
    case 'teams':
      return <TeamsPage session={session} />;
    case 'keys':
      return <KeysPage />;
    case 'requests':
      return <RequestsPage session={session} />;
    case 'models':
      return <ModelsPage session={session} />;
  }
}

render(<App />, document.getElementById('app')!);
