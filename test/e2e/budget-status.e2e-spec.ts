import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { RecordedRequest, ScriptedResponse } from '../fakes/fake-http.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/** gpt-image-1.5, low quality 1024x1024: estimated (1 × 5 + 272 × 32) / 1e6 = 0.008709 USD. */
const CHEAP_AZURE = imageRequest({
  model: 'azure/openai/gpt-image-1.5',
  prompt: 'abcd',
  size: '1024x1024',
  quality: 'low',
});
const ESTIMATE = '0.008709';

/** Fake Azure whose next generation can be held (the request admitted, its reservation open) until released. */
class HoldingAzureServer extends FakeAzureOpenAiServer {
  private held?: { arrive: () => void; released: Promise<void> };

  /** Holds the next request; `arrived` resolves once it is at the fake (so past the budget check). */
  hold(): { arrived: Promise<void>; release: () => void } {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { arrive, released };
    return { arrived, release };
  }

  protected override async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    const held = this.held;
    this.held = undefined;
    if (held) {
      held.arrive();
      await held.released;
    }
    return super.respond(request);
  }
}

interface BudgetFields {
  monthly_budget_usd: string | null;
  budget_month: string;
  spent_usd: string | null;
  reserved_usd: string | null;
}
type TeamBody = BudgetFields & { id: string; name: string };
type KeyBody = BudgetFields & { id: string; name: string; team: string };

/** The current UTC month as `YYYY-MM`. */
const utcMonth = () => new Date().toISOString().slice(0, 7);

describe('Where budgets stand: spent_usd and reserved_usd on /admin/teams and /admin/keys', () => {
  let azure: HoldingAzureServer;
  let sut: TestApp;
  /** The months around the test (a run across a month's end may see either). */
  let months: string[];

  const admin = async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    const response = await sut.http(path, { key: sut.adminKey, ...init });
    expect(response.status).toBeLessThan(300);
    return (await response.json()) as T;
  };
  const teamNamed = async (name: string) =>
    (await admin<{ object: string; data: TeamBody[] }>('/admin/teams')).data.find((team) => team.name === name)!;
  const keyInList = async (id: string) =>
    (await admin<{ object: string; data: KeyBody[] }>('/admin/keys')).data.find((key) => key.id === id)!;
  const generate = async (key: string) => {
    const response = await sut.http('/v1/images/generations', { key, body: CHEAP_AZURE });
    expect(response.status).toBe(200);
    return response.headers.get('x-easel-cost-usd')!;
  };

  beforeAll(async () => {
    months = [utcMonth()];
    azure = await new HoldingAzureServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    sut = await createTestApp({ env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY } });
  });

  beforeEach(() => azure.reset());

  afterEach(() => expect(azure.unexpected).toEqual([]));

  afterAll(async () => {
    months.push(utcMonth());
    await sut?.close();
    await azure?.stop();
  });

  it("shows a team's settled spend and the reservation of its request in flight, null for a team without a budget", async () => {
    const created = await createTeam(sut, { monthly_budget_usd: '1.50' });
    const unbudgeted = await createTeam(sut);
    expect(created).toEqual({
      id: expect.any(String),
      name: created.name,
      monthly_budget_usd: '1.5',
      created_at: expect.any(String),
      budget_month: expect.stringMatching(/^\d{4}-\d{2}$/),
      spent_usd: '0',
      reserved_usd: '0',
    });
    expect(months).toContain(created.budget_month);
    expect(unbudgeted).toMatchObject({ monthly_budget_usd: null, spent_usd: null, reserved_usd: null });
    const { key, id: keyId } = await createApiKey(sut, { team: created.name });
    const { key: otherKey } = await createApiKey(sut, { team: unbudgeted.name });

    const held = azure.hold();
    const inFlight = sut.http('/v1/images/generations', { key, body: CHEAP_AZURE });
    await held.arrived;
    expect(await teamNamed(created.name)).toMatchObject({ spent_usd: '0', reserved_usd: ESTIMATE });
    // The key has no budget of its own: nothing is counted for it, whatever its team's.
    expect(await admin(`/admin/keys/${keyId}`)).toMatchObject({
      monthly_budget_usd: null,
      spent_usd: null,
      reserved_usd: null,
    });
    held.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    const cost = response.headers.get('x-easel-cost-usd')!;
    expect(Number(cost)).toBeGreaterThan(0);

    const settled = await waitFor(
      () => teamNamed(created.name),
      (team) => team.reserved_usd === '0',
    );
    expect(settled).toMatchObject({ monthly_budget_usd: '1.5', spent_usd: cost, reserved_usd: '0' });
    expect(months).toContain(settled.budget_month);

    // A second request adds up exactly (decimal strings, no float arithmetic).
    const second = await generate(key);
    const total = await waitFor(
      () => teamNamed(created.name),
      (team) => team.spent_usd !== cost && team.reserved_usd === '0',
    );
    expect(total.spent_usd).toBe(addUsd(cost, second));

    // Spend of a team without a budget is not counted anywhere: still null, not a made-up 0.
    await generate(otherKey);
    expect(await teamNamed(unbudgeted.name)).toMatchObject({ spent_usd: null, reserved_usd: null });
    expect(await teamNamed('default')).toMatchObject({ monthly_budget_usd: null, spent_usd: null, reserved_usd: null });
  });

  it("shows a key's own budget the same way, on every response that carries the key", async () => {
    const created = await createApiKey(sut, { monthly_budget_usd: '0.5' });
    expect(created).toMatchObject({
      monthly_budget_usd: '0.5',
      budget_month: expect.stringMatching(/^\d{4}-\d{2}$/),
      spent_usd: '0',
      reserved_usd: '0',
    });
    const { id, key } = created;

    const held = azure.hold();
    const inFlight = sut.http('/v1/images/generations', { key, body: CHEAP_AZURE });
    await held.arrived;
    expect(await admin(`/admin/keys/${id}`)).toMatchObject({ spent_usd: '0', reserved_usd: ESTIMATE });
    expect(await keyInList(id)).toMatchObject({ spent_usd: '0', reserved_usd: ESTIMATE });
    // Its team (default) has no budget: its request reserves nothing there.
    expect(await teamNamed('default')).toMatchObject({ spent_usd: null, reserved_usd: null });
    held.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    const cost = response.headers.get('x-easel-cost-usd')!;

    const settled = await waitFor(
      () => admin<KeyBody>(`/admin/keys/${id}`),
      (body) => body.reserved_usd === '0',
    );
    expect(settled).toMatchObject({ spent_usd: cost, reserved_usd: '0' });
    expect(months).toContain(settled.budget_month);
    expect(await keyInList(id)).toMatchObject({ spent_usd: cost, reserved_usd: '0' });

    const renamed = await admin<KeyBody>(`/admin/keys/${id}`, { method: 'PATCH', body: { name: 'renamed' } });
    expect(renamed).toMatchObject({ name: 'renamed', spent_usd: cost, reserved_usd: '0' });
    // Without a budget nothing is counted, so nothing is shown...
    const cleared = await admin<KeyBody>(`/admin/keys/${id}`, { method: 'PATCH', body: { monthly_budget_usd: null } });
    expect(cleared).toMatchObject({ monthly_budget_usd: null, spent_usd: null, reserved_usd: null });
    // ...and a budget set again this month goes on from what was counted against it.
    const again = await admin<KeyBody>(`/admin/keys/${id}`, { method: 'PATCH', body: { monthly_budget_usd: '0.25' } });
    expect(again).toMatchObject({ monthly_budget_usd: '0.25', spent_usd: cost, reserved_usd: '0' });

    const revoked = await admin<KeyBody>(`/admin/keys/${id}`, { method: 'DELETE' });
    expect(revoked).toMatchObject({ revoked_at: expect.any(String), spent_usd: cost, reserved_usd: '0' });
  });

  it('counts no spend from before a budget was set (spend is counted only against a budget)', async () => {
    const { id, key } = await createApiKey(sut);
    await generate(key);
    const budgeted = await admin<KeyBody>(`/admin/keys/${id}`, { method: 'PATCH', body: { monthly_budget_usd: 3 } });
    expect(budgeted).toMatchObject({ monthly_budget_usd: '3', spent_usd: '0', reserved_usd: '0' });
  });

  it('lists every key and team with the three fields, documented in the OpenAPI schemas', async () => {
    const keys = await admin<{ data: KeyBody[] }>('/admin/keys');
    const teams = await admin<{ data: TeamBody[] }>('/admin/teams');
    const decimal = expect.stringMatching(/^\d+(\.\d+)?$/);
    for (const item of [...keys.data, ...teams.data]) {
      expect(months).toContain(item.budget_month);
      const budgeted = item.monthly_budget_usd !== null;
      expect({ spent: item.spent_usd, reserved: item.reserved_usd }).toEqual(
        budgeted ? { spent: decimal, reserved: decimal } : { spent: null, reserved: null },
      );
    }

    const document = (await (await sut.http('/docs-json')).json()) as {
      components: {
        schemas: Record<string, { properties: Record<string, { description?: string; nullable?: boolean }> }>;
      };
    };
    for (const schema of ['TeamResponse', 'ApiKeyResponse', 'CreatedApiKeyResponse']) {
      const properties = document.components.schemas[schema]!.properties;
      expect(properties.budget_month!.description).toContain('YYYY-MM');
      expect(properties.spent_usd).toMatchObject({ nullable: true, description: expect.stringContaining('null') });
      expect(properties.reserved_usd).toMatchObject({ nullable: true, description: expect.stringContaining('null') });
    }
  });
});

/** a + b for decimal strings of at most 12 decimals, exactly. */
function addUsd(a: string, b: string): string {
  const pico = (value: string) => {
    const [whole, fraction = ''] = value.split('.');
    return BigInt(whole!) * 10n ** 12n + BigInt(fraction.padEnd(12, '0'));
  };
  const sum = pico(a) + pico(b);
  const fraction = (sum % 10n ** 12n).toString().padStart(12, '0').replace(/0+$/, '');
  return `${sum / 10n ** 12n}${fraction ? `.${fraction}` : ''}`;
}
