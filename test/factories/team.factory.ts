import { randomBytes } from 'node:crypto';
import type { TestApp } from '../utils/test-app.js';

/** A team as `POST /admin/teams` answers it. */
export interface CreatedTeam {
  id: string;
  name: string;
  monthly_budget_usd: string | null;
  created_at: string;
  /** This month (UTC, `YYYY-MM`) and what was counted against the budget in it; null without a budget. */
  budget_month: string;
  spent_usd: string | null;
  reserved_usd: string | null;
}

/**
 * Creates a team through the admin API: a name of its own (so no two tests share a team by
 * accident) and no budget, unless `overrides` say otherwise. Throws unless the API answers 201.
 */
export async function createTeam(app: TestApp, overrides: Record<string, unknown> = {}): Promise<CreatedTeam> {
  const body = { name: `team-${randomBytes(4).toString('hex')}`, ...overrides };
  const response = await app.http('/admin/teams', { key: app.adminKey, body });
  if (response.status !== 201) throw new Error(`creating a team failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedTeam;
}
