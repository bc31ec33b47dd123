/**
 * Where a budget's spend is counted in `budget_spend`: its scope (one per key, one per team) and
 * the calendar month (UTC), written as the month's first day.
 */
export function keyScope(keyId: string): string {
  return `key:${keyId}`;
}

export function teamScope(team: string): string {
  return `team:${team}`;
}

/** 2026-11-24T10:00Z → "2026-11-01": the `month` of `budget_spend` rows. */
export function monthOf(date: Date): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-01`;
}
