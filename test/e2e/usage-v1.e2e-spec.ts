import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { GROUP_BY } from '../../src/usage/dto/usage-query.dto.js';
import type { UsageReportDto, UsageTotalsDto } from '../../src/usage/dto/usage-report.response.js';
import { USAGE_ENDPOINTS } from '../../src/usage/usage-endpoint.js';
import { createApiKey, type CreatedApiKey } from '../factories/api-key.factory.js';
import { imageRequest, LOCAL_MODEL } from '../factories/request-body.factory.js';
import { type CreatedTeam, createTeam } from '../factories/team.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

type Totals = UsageTotalsDto;
type Report = UsageReportDto;

interface RecordPage {
  data: Array<{ id: string; team: string; api_key_id: string | null; model: string | null }>;
  next_cursor: string | null;
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A fixed window around the traffic, so that two answers to the same question are byte-equal. */
const WINDOW = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
/** The traffic's model: a read of /v1/usage has no model, so these filters count the traffic alone. */
const TRAFFIC = { ...WINDOW, model: LOCAL_MODEL };
const PER_IMAGE = '0.01';
const NO_USAGE: Totals = { requests: 0, errors: 0, images: 0, input_tokens: 0, output_tokens: 0, cost_usd: '0' };

describe("GET /v1/usage and /v1/usage/records: a key reads its own spend or its team's, never another team's", () => {
  let sut: TestApp;
  let dataSource: DataSource;
  let blue: CreatedTeam;
  /** A team whose name differs from blue's only by case. */
  let upperBlue: CreatedTeam;
  let green: CreatedTeam;
  let blue1: CreatedApiKey;
  let blue2: CreatedApiKey;
  let green1: CreatedApiKey;
  let upper1: CreatedApiKey;

  /** `/v1/usage…` with `query`: an object, or a raw query string for repeated and odd parameters. */
  const get = (path: string, key: string | undefined, query: Record<string, string> | string = {}, headers = {}) =>
    sut.http(`${path}?${typeof query === 'string' ? query : new URLSearchParams(query).toString()}`, { key, headers });
  const json = async <T>(response: Response, status = 200): Promise<T> => {
    const text = await response.text();
    expect({ status: response.status, text }).toEqual({ status, text: expect.any(String) });
    return JSON.parse(text) as T;
  };
  const report = async (key: string, query: Record<string, string>) => json<Report>(await get('/v1/usage', key, query));
  const adminReport = async (query: Record<string, string>) =>
    json<Report>(await get('/admin/usage', sut.adminKey, query));
  const records = async (key: string, query: Record<string, string>) =>
    json<RecordPage>(await get('/v1/usage/records', key, query));
  /** Every record of a listing, page by page (`limit` small, so the cursor is exercised). */
  const allRecords = async (path: string, key: string, query: Record<string, string>) => {
    const rows: RecordPage['data'] = [];
    let cursor: string | null = null;
    do {
      const page: RecordPage = await json<RecordPage>(
        await get(path, key, { ...query, limit: '2', ...(cursor ? { cursor } : {}) }),
      );
      rows.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return rows;
  };
  const generate = async (key: CreatedApiKey, overrides: Record<string, unknown>, status = 200) => {
    const response = await sut.http('/v1/images/generations', { key: key.key, body: imageRequest(overrides) });
    expect(response.status).toBe(status);
  };

  beforeAll(async () => {
    sut = await createTestApp({ env: { RATE_LIMIT_RPM: '100000' } });
    dataSource = sut.app.get(DataSource);
    blue = await createTeam(sut);
    upperBlue = await createTeam(sut, { name: blue.name.toUpperCase() });
    green = await createTeam(sut);
    [blue1, blue2, green1, upper1] = await Promise.all([
      createApiKey(sut, { name: 'blue 1', team: blue.name }),
      createApiKey(sut, { name: 'blue 2', team: blue.name }),
      createApiKey(sut, { name: 'green 1', team: green.name }),
      createApiKey(sut, { name: 'BLUE 1', team: upperBlue.name }),
    ]);
    // A price on the local model, so that costs add up to something.
    const price = await sut.http(`/admin/pricing/${encodeURIComponent(LOCAL_MODEL)}`, {
      key: sut.adminKey,
      method: 'PUT',
      body: { per_image: PER_IMAGE },
    });
    expect(price.status).toBe(200);

    // blue 1: 3 requests (one refused), 3 images; blue 2: 1 request, 3 images; green 1: 2 requests,
    // 4 images; BLUE 1: 1 request, 5 images.
    await generate(blue1, { n: 1 });
    await generate(blue1, { n: 2 });
    await generate(blue1, { prompt: '' }, 400);
    await generate(blue2, { n: 3 });
    await generate(green1, { n: 2 });
    await generate(green1, { n: 2 });
    await generate(upper1, { n: 5 });
    await waitFor(
      async () => Number((await dataSource.query('SELECT count(*) AS n FROM usage_records'))[0].n),
      (count) => count === 7,
    );
  });

  afterAll(() => sut?.close());

  it('scope=key (the default): a key sees its own requests only, equal to the admin report for that key', async () => {
    const own = await report(blue1.key, { ...TRAFFIC, group_by: 'api_key' });
    expect(own.totals).toEqual({ ...NO_USAGE, requests: 3, errors: 1, images: 3, cost_usd: '0.03' });
    expect(own.rows).toEqual([{ group: blue1.id, ...own.totals }]);
    expect(own.totals).toEqual((await adminReport({ ...TRAFFIC, api_key: blue1.id })).totals);
    expect(await report(blue1.key, { ...TRAFFIC, group_by: 'api_key', scope: 'key' })).toEqual(own);

    const second = await report(blue2.key, TRAFFIC);
    expect(second.totals).toEqual({ ...NO_USAGE, requests: 1, images: 3, cost_usd: '0.03' });
    expect(second.rows).toEqual([{ group: LOCAL_MODEL, ...second.totals }]);
  });

  it("scope=team: the team's totals are the sum of its keys', equal to the admin report for the team, and no other team's", async () => {
    const team = await report(blue1.key, { ...TRAFFIC, scope: 'team', group_by: 'api_key' });
    expect(team.rows.map((row) => row.group).sort()).toEqual([blue1.id, blue2.id].sort());
    expect(team.totals).toEqual({ ...NO_USAGE, requests: 4, errors: 1, images: 6, cost_usd: '0.06' });
    const [one, two] = await Promise.all([report(blue1.key, TRAFFIC), report(blue2.key, TRAFFIC)]);
    expect(team.totals).toEqual({
      requests: one.totals.requests + two.totals.requests,
      errors: one.totals.errors + two.totals.errors,
      images: one.totals.images + two.totals.images,
      input_tokens: one.totals.input_tokens + two.totals.input_tokens,
      output_tokens: one.totals.output_tokens + two.totals.output_tokens,
      cost_usd: '0.06',
    });
    expect(team.totals).toEqual((await adminReport({ ...TRAFFIC, team: blue.name })).totals);
    // Either key of the team gets the same team view.
    expect(await report(blue2.key, { ...TRAFFIC, scope: 'team', group_by: 'api_key' })).toEqual(team);

    const greenTeam = await report(green1.key, { ...TRAFFIC, scope: 'team' });
    expect(greenTeam.totals).toEqual({ ...NO_USAGE, requests: 2, images: 4, cost_usd: '0.04' });
  });

  it('group_by=team shows one row, the caller’s own team, whatever the scope and with no filter at all', async () => {
    for (const scope of ['key', 'team']) {
      const byTeam = await report(blue1.key, { scope, group_by: 'team' });
      expect(byTeam.rows.map((row) => row.group)).toEqual([blue.name]);
      expect(byTeam.rows[0]).toEqual({ group: blue.name, ...byTeam.totals });
    }
    // The admin report does hold the other teams: they are left out, not absent.
    const everyone = await adminReport({ ...TRAFFIC, group_by: 'team' });
    expect(everyone.rows.map((row) => row.group).sort()).toEqual([blue.name, green.name, upperBlue.name].sort());
  });

  it("split_by=team or api_key splits the caller's own data only, in either scope (JSON and CSV)", async () => {
    // The admin sees every team's pairs: the ones a key must not see are there to leak.
    const everyone = await adminReport({ ...TRAFFIC, group_by: 'model', split_by: 'team' });
    expect(everyone.rows.map((row) => row.split).sort()).toEqual([blue.name, green.name, upperBlue.name].sort());

    for (const scope of ['key', 'team']) {
      const byTeam = await report(blue1.key, { scope, group_by: 'model', split_by: 'team' });
      expect({ scope, splits: [...new Set(byTeam.rows.map((row) => row.split))] }).toEqual({
        scope,
        splits: [blue.name],
      });
      const withoutFilter = await report(blue1.key, { scope, group_by: 'day', split_by: 'api_key' });
      const keys = scope === 'key' ? [blue1.id] : [blue1.id, blue2.id].sort();
      expect({ scope, splits: [...new Set(withoutFilter.rows.map((row) => row.split))].sort() }).toEqual({
        scope,
        splits: keys,
      });
      const teamByKey = await report(blue1.key, { ...TRAFFIC, scope, group_by: 'team', split_by: 'api_key' });
      expect({ scope, rows: teamByKey.rows.map(({ group, split }) => ({ group, split })) }).toEqual({
        scope,
        rows: keys.map((split) => ({ group: blue.name, split })),
      });
      expect(teamByKey.totals).toEqual((await report(blue1.key, { ...TRAFFIC, scope, group_by: 'team' })).totals);
      const csv = await (
        await get('/v1/usage', blue1.key, { ...TRAFFIC, scope, group_by: 'model', split_by: 'api_key', format: 'csv' })
      ).text();
      expect(csv.split('\n')[0]).toBe('group,split,requests,errors,images,input_tokens,output_tokens,cost_usd');
      for (const foreign of [green1.id, upper1.id, green.name, upperBlue.name]) expect(csv).not.toContain(foreign);
    }
    // The team's split by key, equal to the admin's split of the team.
    expect((await report(blue1.key, { ...TRAFFIC, scope: 'team', split_by: 'api_key' })).rows).toEqual(
      (await adminReport({ ...TRAFFIC, team: blue.name, split_by: 'api_key' })).rows,
    );
  });

  it('filters by endpoint and status within the caller’s view', async () => {
    const failed = await report(blue1.key, { ...TRAFFIC, scope: 'team', status: 'error', group_by: 'api_key' });
    expect(failed.rows).toEqual([{ group: blue1.id, ...failed.totals }]);
    expect(failed.totals).toEqual({ ...NO_USAGE, requests: 1, errors: 1 });
    const succeeded = await report(blue1.key, { ...TRAFFIC, scope: 'team', status: 'success', endpoint: 'images' });
    expect(succeeded.totals).toEqual({ ...NO_USAGE, requests: 3, images: 6, cost_usd: '0.06' });
    expect((await report(blue1.key, { ...TRAFFIC, scope: 'team', endpoint: 'images.edits' })).totals).toEqual(NO_USAGE);
    const failedRows = await allRecords('/v1/usage/records', blue1.key, { ...TRAFFIC, scope: 'team', status: 'error' });
    expect(failedRows.map((row) => row.api_key_id)).toEqual([blue1.id]);
    // The endpoint filter does not reach past the team: green's image requests stay out.
    const images = await allRecords('/v1/usage/records', green1.key, { scope: 'team', endpoint: 'images' });
    expect(images).toHaveLength(2);
    expect(new Set(images.map((row) => row.team))).toEqual(new Set([green.name]));
  });

  it("naming the caller's own team is allowed; any other team is 403, one answer whether it exists or not", async () => {
    const own = await report(blue1.key, { ...TRAFFIC, scope: 'team', team: blue.name });
    expect(own).toEqual(await report(blue1.key, { ...TRAFFIC, scope: 'team' }));

    const others = [
      green.name,
      upperBlue.name, // exists, differs by case only
      `${blue.name[0]!.toUpperCase()}${blue.name.slice(1)}`,
      ` ${blue.name}`,
      `${blue.name} `,
      `${blue.name}%`,
      `${blue.name.slice(0, -1)}_`,
      'no-such-team',
      'x'.repeat(100),
    ];
    const answers = new Set<string>();
    for (const team of others) {
      for (const [path, scope] of [
        ['/v1/usage', 'key'],
        ['/v1/usage', 'team'],
        ['/v1/usage/records', 'team'],
      ] as const) {
        const response = await get(path, blue1.key, { scope, team });
        expect({ team, path, scope, status: response.status }).toEqual({ team, path, scope, status: 403 });
        const body = await json<ErrorBody>(response, 403);
        expect(body).toEqual({
          error: { message: expect.any(String), type: 'permission_error', param: 'team', code: 'permission_denied' },
        });
        expect(body.error.message).not.toContain(team.trim());
        answers.add(JSON.stringify(body));
      }
    }
    expect(answers.size).toBe(1);
  });

  it('repeated, bracketed and oversized parameters are refused, never read as a wider view', async () => {
    const invalid = [
      `team=${blue.name}&team=${green.name}`,
      `team=${green.name}&team=${blue.name}`,
      `team=${blue.name}&team=${blue.name}`,
      `scope=team&scope=key`,
      `scope=key&scope=team`,
      `api_key=${blue1.id}&api_key=${green1.id}`,
      `team[]=${blue.name}`,
      `team[0]=${green.name}`,
      `scope=TEAM`,
      `scope=all`,
      `scope=`,
      `team=`,
      `team=${blue.name}%00`,
      `team=${'x'.repeat(101)}`,
      `team=${'x'.repeat(10_000)}`,
      `api_key=${'a'.repeat(5000)}`,
      `api_key=not-a-uuid`,
      `group_by=team&group_by=api_key`,
      `split_by=team&split_by=api_key`,
      `split_by=model`,
      `group_by=team&split_by=team`,
      `split_by=teams`,
      `split_by[]=team`,
      `endpoint=images&endpoint=chat`,
      `endpoint=image`,
      `endpoint=`,
      `status=error&status=success`,
      `status=failed`,
    ];
    for (const query of invalid) {
      for (const path of ['/v1/usage', '/v1/usage/records']) {
        const response = await get(path, blue1.key, query);
        const body = await json<ErrorBody>(response, 400);
        expect(body.error.type).toBe('invalid_request_error');
      }
    }
  });

  it("scope=key: api_key may name the caller's own key only; any other id is 403, one answer whether it exists or not", async () => {
    const own = await report(blue1.key, TRAFFIC);
    expect(await report(blue1.key, { ...TRAFFIC, api_key: blue1.id })).toEqual(own);
    expect(await report(blue1.key, { ...TRAFFIC, api_key: blue1.id.toUpperCase() })).toEqual(own);

    const answers = new Set<string>();
    for (const apiKey of [blue2.id, green1.id, upper1.id, randomUUID()]) {
      for (const path of ['/v1/usage', '/v1/usage/records']) {
        const body = await json<ErrorBody>(await get(path, blue1.key, { api_key: apiKey }), 403);
        expect(body.error).toMatchObject({ type: 'permission_error', param: 'api_key', code: 'permission_denied' });
        expect(body.error.message).not.toContain(apiKey);
        answers.add(JSON.stringify(body));
      }
    }
    expect(answers.size).toBe(1);
  });

  it('scope=team: api_key filters within the team; a key of another team or none at all matches nothing, alike', async () => {
    const second = await report(blue1.key, { ...TRAFFIC, scope: 'team', api_key: blue2.id });
    expect(second.totals).toEqual((await report(blue2.key, TRAFFIC)).totals);

    const foreign = await get('/v1/usage', blue1.key, { ...WINDOW, scope: 'team', api_key: green1.id });
    const missing = await get('/v1/usage', blue1.key, { ...WINDOW, scope: 'team', api_key: randomUUID() });
    const foreignText = await foreign.text();
    expect(foreign.status).toBe(200);
    expect(JSON.parse(foreignText)).toEqual({ ...WINDOW_ISO, group_by: 'model', rows: [], totals: NO_USAGE });
    expect(foreignText).toBe(await missing.text());
    // The foreign key does have records: the admin sees them.
    expect((await adminReport({ ...TRAFFIC, api_key: green1.id })).totals.requests).toBe(2);

    expect(await records(blue1.key, { scope: 'team', api_key: green1.id })).toEqual({ data: [], next_cursor: null });
    expect(await records(blue1.key, { scope: 'team', api_key: upper1.id })).toEqual({ data: [], next_cursor: null });
  });

  it("records: scope=team pages hold exactly the team's records, scope=key exactly the key's", async () => {
    const teamRows = await allRecords('/v1/usage/records', blue1.key, { ...TRAFFIC, scope: 'team' });
    const adminRows = await allRecords('/admin/usage/records', sut.adminKey!, { ...TRAFFIC, team: blue.name });
    expect(teamRows.map((row) => row.id)).toEqual(adminRows.map((row) => row.id));
    expect(teamRows).toHaveLength(4);
    expect(new Set(teamRows.map((row) => row.api_key_id))).toEqual(new Set([blue1.id, blue2.id]));

    const keyRows = await allRecords('/v1/usage/records', blue1.key, TRAFFIC);
    expect(keyRows.map((row) => row.id)).toEqual(
      teamRows.filter((row) => row.api_key_id === blue1.id).map((row) => row.id),
    );
    expect(keyRows).toHaveLength(3);

    // Without any filter, in any scope: the team's rows only (and reads of /v1/usage, if recorded, are its own).
    for (const scope of ['key', 'team']) {
      const rows = await allRecords('/v1/usage/records', blue1.key, { scope });
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((row) => row.team))).toEqual(new Set([blue.name]));
      if (scope === 'key') expect(new Set(rows.map((row) => row.api_key_id))).toEqual(new Set([blue1.id]));
    }
  });

  it('a cursor from elsewhere, or crafted, moves the position only: the view stays the caller’s', async () => {
    const firstPage = await records(blue1.key, { scope: 'team', ...TRAFFIC });
    // The newest position there is: the same first page as without a cursor.
    const crafted = Buffer.from('9999-12-31T23:59:59.999Z|ffffffff-ffff-ffff-ffff-ffffffffffff').toString('base64url');
    expect(await records(blue1.key, { scope: 'team', ...TRAFFIC, cursor: crafted })).toEqual(firstPage);

    // A cursor from the admin listing of another team: a position, never its team.
    const greenPage = await json<RecordPage>(
      await get('/admin/usage/records', sut.adminKey, { team: green.name, limit: '1' }),
    );
    expect(greenPage.next_cursor).not.toBeNull();
    const fromGreen = await records(blue1.key, { scope: 'team', cursor: greenPage.next_cursor! });
    expect(fromGreen.data.every((row) => row.team === blue.name)).toBe(true);
    const fromGreenAsKey = await records(blue1.key, { cursor: greenPage.next_cursor! });
    expect(fromGreenAsKey.data.every((row) => row.api_key_id === blue1.id && row.team === blue.name)).toBe(true);

    // A cursor from the team view, used with scope=key: still only the key's own records.
    const teamPage = await records(blue1.key, { scope: 'team', ...TRAFFIC, limit: '1' });
    expect(teamPage.next_cursor).not.toBeNull();
    const narrowed = await records(blue1.key, { ...TRAFFIC, cursor: teamPage.next_cursor!, limit: '1000' });
    expect(narrowed.data.length).toBeGreaterThan(0);
    expect(narrowed.data.every((row) => row.api_key_id === blue1.id)).toBe(true);

    // A cursor of any other shape is refused.
    for (const cursor of ['garbage', Buffer.from(`2026-01-01T00:00:00.000Z|${blue.name}`).toString('base64url')]) {
      const body = await json<ErrorBody>(await get('/v1/usage/records', blue1.key, { cursor }), 400);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'cursor' });
    }
  });

  it('gives the report as CSV (format=csv or Accept: text/csv) with the same scoping', async () => {
    const query = { ...TRAFFIC, scope: 'team', group_by: 'api_key' };
    const viaFormat = await get('/v1/usage', blue1.key, { ...query, format: 'csv' });
    const viaAccept = await get('/v1/usage', blue1.key, query, { accept: 'text/csv' });
    for (const response of [viaFormat, viaAccept]) {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="easel-usage-api_key.csv"');
    }
    const csv = await viaFormat.text();
    expect(await viaAccept.text()).toBe(csv);
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('group,requests,errors,images,input_tokens,output_tokens,cost_usd');
    expect(lines.slice(1).sort()).toEqual([`${blue1.id},3,1,3,0,0,0.03`, `${blue2.id},1,0,3,0,0,0.03`].sort());
    expect(csv).not.toContain(green1.id);

    const refused = await get('/v1/usage', blue1.key, { team: green.name, format: 'csv' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('admin keys cannot call /v1/usage (403); no key or a wrong one is 401', async () => {
    for (const path of ['/v1/usage', '/v1/usage/records']) {
      const admin = await json<ErrorBody>(await get(path, sut.adminKey, { scope: 'team' }), 403);
      expect(admin.error).toMatchObject({ type: 'permission_error', code: 'permission_denied' });
      const anonymous = await json<ErrorBody>(await get(path, undefined), 401);
      expect(anonymous.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
      const wrong = await json<ErrorBody>(await get(path, 'sk-easel-not-a-real-key'), 401);
      expect(wrong.error.code).toBe('invalid_api_key');
    }
  });

  it('is documented at /docs-json: parameters, the bearer scheme, 400/401/403', async () => {
    const document = await json<{
      paths: Record<
        string,
        {
          get?: {
            summary: string;
            tags: string[];
            security: unknown;
            responses: Record<string, unknown>;
            parameters: Array<{ name: string; in: string; schema: { enum?: string[] } }>;
          };
        }
      >;
    }>(await sut.http('/docs-json'));
    for (const [path, names] of [
      [
        '/v1/usage',
        [
          'from',
          'to',
          'model',
          'team',
          'api_key',
          'deprecated',
          'endpoint',
          'status',
          'group_by',
          'split_by',
          'format',
          'scope',
        ],
      ],
      [
        '/v1/usage/records',
        ['from', 'to', 'model', 'team', 'api_key', 'deprecated', 'endpoint', 'status', 'limit', 'cursor', 'scope'],
      ],
    ] as const) {
      const operation = document.paths[path]?.get;
      expect(operation).toBeDefined();
      expect(operation!.summary).toMatch(/scope=team/);
      expect(operation!.tags).toEqual(['usage']);
      expect(operation!.security).toEqual(expect.arrayContaining([{ bearer: [] }, { console: [] }]));
      expect(operation!.security).toHaveLength(2);
      expect(Object.keys(operation!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
      const query = operation!.parameters.filter((parameter) => parameter.in === 'query');
      expect(query.map((parameter) => parameter.name).sort()).toEqual([...names].sort());
      expect(query.find((parameter) => parameter.name === 'scope')!.schema.enum).toEqual(['key', 'team']);
      expect(query.find((parameter) => parameter.name === 'endpoint')!.schema.enum).toEqual([...USAGE_ENDPOINTS]);
      expect(query.find((parameter) => parameter.name === 'status')!.schema.enum).toEqual(['success', 'error']);
      if (path === '/v1/usage') {
        expect(query.find((parameter) => parameter.name === 'split_by')!.schema.enum).toEqual([...GROUP_BY]);
      }
    }
  });

  it('a read of /v1/usage leaves a usage record (endpoint usage, no cost), as /v1/models does; a refused one shows as a 403', async () => {
    await get('/v1/usage', blue1.key, { scope: 'team' }, { 'x-request-id': 'usage-read' });
    await get('/v1/usage/records', blue1.key, { team: green.name }, { 'x-request-id': 'usage-probe' });
    const rows = await waitFor(
      () =>
        dataSource.query(
          `SELECT request_id, api_key_id, team, endpoint, model, status, http_status, error_code, cost_usd
             FROM usage_records WHERE request_id IN ('usage-read', 'usage-probe') ORDER BY request_id DESC`,
        ),
      (found: unknown[]) => found.length === 2,
    );
    const recorded = {
      api_key_id: blue1.id,
      team: blue.name,
      endpoint: 'usage',
      model: null,
      cost_usd: '0.000000000000',
    };
    expect(rows).toEqual([
      { request_id: 'usage-read', ...recorded, status: 'success', http_status: 200, error_code: null },
      { request_id: 'usage-probe', ...recorded, status: 'error', http_status: 403, error_code: 'permission_denied' },
    ]);
  });

  it("a key moved to another team reads only what it did there: the team is always the caller's current one", async () => {
    const moved = await sut.http(`/admin/keys/${blue2.id}`, {
      key: sut.adminKey,
      method: 'PATCH',
      body: { team: green.name },
    });
    expect(moved.status).toBe(200);
    const ownNow = await waitFor(
      () => report(blue2.key, { ...TRAFFIC, group_by: 'team' }),
      (answer) => answer.totals.requests === 0,
    );
    expect(ownNow).toEqual({ ...WINDOW_ISO, group_by: 'team', rows: [], totals: NO_USAGE });
    const greenView = await report(blue2.key, { ...TRAFFIC, scope: 'team', group_by: 'api_key' });
    expect(greenView.rows.map((row) => row.group)).toEqual([green1.id]);
    const refused = await json<ErrorBody>(await get('/v1/usage', blue2.key, { team: blue.name }), 403);
    expect(refused.error.param).toBe('team');
    // Blue keeps the history it paid for, its former key's included.
    const blueView = await report(blue1.key, { ...TRAFFIC, scope: 'team', api_key: blue2.id });
    expect(blueView.totals).toEqual({ ...NO_USAGE, requests: 1, images: 3, cost_usd: '0.03' });
  });
});

const WINDOW_ISO = { from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' };
