import type { TestApp } from '../utils/test-app.js';

/** An API key as `POST /admin/keys` answers it: `key` is the secret, shown this once. */
export interface CreatedApiKey {
  id: string;
  key: string;
  prefix: string;
  name: string;
  team: string;
  admin: boolean;
  allowed_models: string[] | null;
  rpm: number | null;
  monthly_budget_usd: string | null;
  expires_at: string | null;
  /** This month (UTC, `YYYY-MM`) and what was counted against the budget in it; null without a budget. */
  budget_month: string;
  spent_usd: string | null;
  reserved_usd: string | null;
}

/**
 * Creates an API key through the admin API: of the default team, every model, the default rate
 * limit, no budget, no expiry, unless `overrides` (fields of the request body) say otherwise.
 * Throws unless the API answers 201.
 */
export async function createApiKey(app: TestApp, overrides: Record<string, unknown> = {}): Promise<CreatedApiKey> {
  const body = { name: 'test key', team: 'default', ...overrides };
  const response = await app.http('/admin/keys', { key: app.adminKey, body });
  if (response.status !== 201) throw new Error(`creating a key failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedApiKey;
}
