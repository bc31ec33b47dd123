/** The authenticated caller of a request, as the hot path sees it. */
export interface Principal {
  /** null for the `ADMIN_API_KEY` from the environment, which has no row. */
  keyId: string | null;
  prefix: string;
  name: string;
  team: string;
  isAdmin: boolean;
  /** null = every model. */
  allowedModels: readonly string[] | null;
  expiresAt: Date | null;
  /** Requests per minute; null = RATE_LIMIT_RPM. */
  rpm: number | null;
  /** Pico-dollars per calendar month; null = no key budget. */
  monthlyBudget: bigint | null;
}
