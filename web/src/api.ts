/**
 * Easel's JSON API as the console calls it: same origin, the session cookie instead of a key
 * (docs/CONSOLE.md), the CSRF token on every change. Errors arrive in OpenAI's shape.
 */

export interface Session {
  role: 'admin' | 'team';
  team: string;
  key_prefix: string;
  csrf_token: string;
  expires_at: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    readonly param: string | null,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSessionEnded: (reason: string) => void = () => {};

/** Called when a request answers 401: the session expired, was signed out elsewhere, or its key revoked. */
export function whenSessionEnds(handler: (reason: string) => void): void {
  onSessionEnded = handler;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') parameters.set(name, String(value));
  }
  const text = parameters.toString();
  return text ? `${path}?${text}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'Easel cannot be reached. Check the connection and try again.', null, null);
  }
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => null)) as
    (T & { error?: { message?: string; code?: string; param?: string } }) | null;
  if (!response.ok) {
    const error = data?.error;
    const failure = new ApiError(
      response.status,
      error?.message ?? `Easel answered ${response.status}.`,
      error?.code ?? null,
      error?.param ?? null,
    );
    if (response.status === 401 && path !== SESSION_PATH) onSessionEnded(failure.message);
    throw failure;
  }
  return data as T;
}

export const get = <T>(path: string, query?: Query) => request<T>('GET', withQuery(path, query));

const SESSION_PATH = '/console/api/session';

export async function currentSession(): Promise<Session | undefined> {
  try {
    return remember(await request<Session>('GET', SESSION_PATH));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

export async function signIn(key: string): Promise<Session> {
  return remember(await request<Session>('POST', SESSION_PATH, { key }));
}

export async function signOut(): Promise<void> {
  try {
    await request<void>('DELETE', SESSION_PATH);
  } finally {
    csrfToken = undefined;
  }
}

function remember(session: Session): Session {
  csrfToken = session.csrf_token;
  return session;
}

// ---- What the pages read and change ----

export interface Totals {
  requests: number;
  errors: number;
  images: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
}
export interface ReportRow extends Totals {
  group: string;
  split?: string;
}
export interface Report {
  from: string;
  to: string;
  group_by: string;
  rows: ReportRow[];
  totals: Totals;
}
export type GroupBy = 'model' | 'api_key' | 'team' | 'day' | 'provider' | 'endpoint';

export interface UsageRecord {
  id: string;
  request_id: string;
  created_at: string;
  api_key_id: string | null;
  team: string;
  endpoint: string;
  model: string | null;
  served_model: string | null;
  provider: string | null;
  route: string | null;
  status: 'success' | 'error';
  http_status: number;
  error_code: string | null;
  latency_ms: number;
  upstream_latency_ms: number | null;
  images: number;
  size: string | null;
  quality: string | null;
  input_text_tokens: number;
  input_image_tokens: number;
  cached_input_tokens: number;
  output_text_tokens: number;
  output_image_tokens: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  price_version: number | null;
  user: string | null;
}

export interface UsageFilter {
  from?: string;
  to?: string;
  model?: string;
  team?: string;
  api_key?: string;
  endpoint?: string;
  status?: string;
}

/** An admin reads every team's usage under /admin; a team key its own team's under /v1 (scope=team). */
function usageBase(session: Session): { path: string; scope: Query } {
  return session.role === 'admin'
    ? { path: '/admin/usage', scope: {} }
    : { path: '/v1/usage', scope: { scope: 'team' } };
}

export function usageReport(
  session: Session,
  query: UsageFilter & { group_by: GroupBy; split_by?: GroupBy },
): Promise<Report> {
  const { path, scope } = usageBase(session);
  return get<Report>(path, { ...query, ...scope });
}

export function usageRecords(
  session: Session,
  query: UsageFilter & { limit?: number; cursor?: string },
): Promise<{ data: UsageRecord[]; next_cursor: string | null }> {
  const { path, scope } = usageBase(session);
  return get(`${path}/records`, { ...query, ...scope });
}

/** A record's image preview; an admin names the record's team (two teams may have sent one request id). */
export function thumbnailUrl(session: Session, record: UsageRecord, index: number): string {
  const path = `${usageBase(session).path}/records/${encodeURIComponent(record.request_id)}/thumbnails/${index}`;
  return session.role === 'admin' ? withQuery(path, { team: record.team }) : path;
}

export interface Team {
  id: string;
  name: string;
  monthly_budget_usd: string | null;
  budget_month?: string;
  spent_usd?: string | null;
  reserved_usd?: string | null;
  created_at: string;
}

export interface ApiKey {
  id: string;
  prefix: string;
  name: string;
  team: string;
  admin: boolean;
  allowed_models: string[] | null;
  rpm: number | null;
  monthly_budget_usd: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
  spent_usd?: string | null;
  reserved_usd?: string | null;
}

export interface KeyChanges {
  name?: string;
  team?: string;
  admin?: boolean;
  allowed_models?: string[] | null;
  rpm?: number | null;
  monthly_budget_usd?: string | null;
  expires_at?: string | null;
}

export const listTeams = () => get<{ data: Team[] }>('/admin/teams').then((list) => list.data);
export const createTeam = (name: string, monthlyBudgetUsd: string | null) =>
  request<Team>('POST', '/admin/teams', { name, monthly_budget_usd: monthlyBudgetUsd });
export const listKeys = () => get<{ data: ApiKey[] }>('/admin/keys').then((list) => list.data);
export const createKey = (changes: KeyChanges & { name: string; team: string }) =>
  request<ApiKey & { key: string }>('POST', '/admin/keys', changes);
export const updateKey = (id: string, changes: KeyChanges) =>
  request<ApiKey>('PATCH', `/admin/keys/${encodeURIComponent(id)}`, changes);
export const revokeKey = (id: string) => request<ApiKey>('DELETE', `/admin/keys/${encodeURIComponent(id)}`);

export interface Model {
  id: string;
  provider: string;
  description: string;
  endpoints: string[];
  available: boolean;
  unavailable_reason?: string;
  shutdown_date: string | null;
  deprecated: boolean;
  successor: string | null;
  capabilities: {
    sizes: string[];
    qualities: string[];
    output_formats: string[];
    backgrounds: string[];
    max_n: number;
    edits: boolean;
    streaming: boolean;
    max_prompt_chars: number;
  };
}

export interface PriceVersion {
  model: string;
  version: number;
  effective_from: string;
  source: string;
  per_million_tokens: Record<string, string>;
  per_image: string;
}

/** An admin's key does not call /v1: admins read the whole catalogue under /admin. */
export const listModels = (role: Session['role']) =>
  get<{ data: Model[] }>(role === 'admin' ? '/admin/models' : '/v1/models').then((list) => list.data);
export const listPrices = () => get<{ data: PriceVersion[] }>('/admin/pricing').then((list) => list.data);
export const priceHistory = (model: string) =>
  get<{ data: PriceVersion[] }>(`/admin/pricing/${encodeURIComponent(model)}`).then((list) => list.data);
