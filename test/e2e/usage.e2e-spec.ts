import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, stopUpstreamApp, type UpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const GPT_IMAGE_15 = 'azure/openai/gpt-image-1.5';
/** A second Azure model with prices of its own (image out $30 per 1M, not 32). */
const GPT_IMAGE_2 = 'azure/openai/gpt-image-2';
const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/** An Azure answer with exactly this usage. */
function azureAnswer(textTokens: number, outputTokens: number) {
  return {
    status: 200,
    body: {
      created: 1,
      data: [{ b64_json: TINY_PNG }],
      size: '1024x1024',
      quality: 'medium',
      output_format: 'png',
      background: 'opaque',
      usage: {
        input_tokens: textTokens,
        input_tokens_details: { text_tokens: textTokens, image_tokens: 0 },
        output_tokens: outputTokens,
        total_tokens: textTokens + outputTokens,
      },
    },
  };
}

interface Report {
  group_by: string;
  split_by?: string;
  rows: Array<{
    group: string;
    split?: string;
    requests: number;
    errors: number;
    images: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: string;
  }>;
  totals: {
    requests: number;
    errors: number;
    images: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: string;
  };
}

describe('Usage records, prices and spend reports', () => {
  let azure: FakeAzureOpenAiServer;
  let app: UpstreamApp<FakeAzureOpenAiServer>;
  let sut: TestApp;
  let key: string;
  let keyId: string;
  let dataSource: DataSource;

  const count = async () => Number((await dataSource.query('SELECT count(*) AS n FROM usage_records'))[0].n);
  const admin = async <T>(path: string) => (await (await sut.http(path, { key: sut.adminKey })).json()) as T;

  beforeAll(async () => {
    app = await startWithAzure();
    ({ fake: azure, sut } = app);
    await createTeam(sut, { name: 'design' });
    ({ key, id: keyId } = await createApiKey(sut, { team: 'design' }));
    dataSource = sut.app.get(DataSource);
  });

  afterAll(() => stopUpstreamApp(app));

  it('charges a gpt-image-1.5 request exactly (T × 5 + 544 × 32) / 1e6 USD and records it with its price version', async () => {
    azure.enqueue(azureAnswer(37, 544));
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GPT_IMAGE_15, prompt: 'exact money', response_format: 'b64_json', user: 'u-1' },
      headers: { 'x-request-id': 'exact-gpt-image-1.5' },
    });
    expect(response.status).toBe(200);
    // (37 × 5 + 544 × 32) / 1e6 = 0.017593
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.017593');

    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query(`SELECT * FROM usage_records WHERE request_id = 'exact-gpt-image-1.5'`),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      api_key_id: keyId,
      team: 'design',
      endpoint: 'images',
      model: GPT_IMAGE_15,
      served_model: GPT_IMAGE_15,
      provider: 'azure-openai',
      route: 'default',
      status: 'success',
      http_status: 200,
      error_code: null,
      images: 1,
      input_text_tokens: 37,
      output_image_tokens: 544,
      input_tokens: 37,
      output_tokens: 544,
      cost_usd: '0.017593000000',
      price_version: 1,
      user: 'u-1',
      prompt_length: 'exact money'.length,
      prompt_text: null,
    });
    expect(record.prompt_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(record)).not.toContain('exact money');
    expect(JSON.stringify(record)).not.toContain(TINY_PNG);
  });

  it('charges gpt-image-2 at its own prices (text 5, image out 30)', async () => {
    azure.enqueue(azureAnswer(100, 1056));
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GPT_IMAGE_2, prompt: 'p', response_format: 'b64_json' },
    });
    // (100 × 5 + 1056 × 30) / 1e6 = 0.03218
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.03218');
  });

  it('applies a price change to later requests only; earlier records keep their cost', async () => {
    azure.enqueue(azureAnswer(10, 1000));
    const before = await sut.http('/v1/images/generations', {
      key,
      body: { model: GPT_IMAGE_15, prompt: 'before', response_format: 'b64_json' },
      headers: { 'x-request-id': 'before-price-change' },
    });
    expect(before.headers.get('x-easel-cost-usd')).toBe('0.03205');

    const put = await sut.http(`/admin/pricing/${encodeURIComponent(GPT_IMAGE_15)}`, {
      key: sut.adminKey,
      method: 'PUT',
      body: { per_million_tokens: { output_image: '20' } },
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({
      model: GPT_IMAGE_15,
      version: 2,
      source: 'admin',
      per_million_tokens: { input_text: '5', output_image: '20', input_image: '8' },
    });

    azure.enqueue(azureAnswer(10, 1000));
    const after = await sut.http('/v1/images/generations', {
      key,
      body: { model: GPT_IMAGE_15, prompt: 'after', response_format: 'b64_json' },
      headers: { 'x-request-id': 'after-price-change' },
    });
    expect(after.headers.get('x-easel-cost-usd')).toBe('0.02005');

    const rows = await waitFor(
      () =>
        dataSource.query(
          `SELECT request_id, cost_usd, price_version FROM usage_records WHERE request_id IN ('before-price-change', 'after-price-change') ORDER BY request_id DESC`,
        ),
      (found: unknown[]) => found.length === 2,
    );
    expect(rows).toEqual([
      { request_id: 'before-price-change', cost_usd: '0.032050000000', price_version: 1 },
      { request_id: 'after-price-change', cost_usd: '0.020050000000', price_version: 2 },
    ]);
    const pricing = await admin<{ data: Array<{ model: string; version: number }> }>('/admin/pricing');
    expect(pricing.data.find((p) => p.model === GPT_IMAGE_15)?.version).toBe(2);
    const history = await admin<{ data: Array<{ version: number }> }>(
      `/admin/pricing/${encodeURIComponent(GPT_IMAGE_15)}`,
    );
    expect(history.data.map((v) => v.version)).toEqual([2, 1]);
  });

  it('validates price changes', async () => {
    const path = `/admin/pricing/${encodeURIComponent(GPT_IMAGE_15)}`;
    const bad = await sut.http(path, {
      key: sut.adminKey,
      method: 'PUT',
      body: { per_million_tokens: { output_image: '1.1234567' } },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'per_million_tokens.output_image' } });
    const negative = await sut.http(path, { key: sut.adminKey, method: 'PUT', body: { per_image: '-1' } });
    expect(negative.status).toBe(400);
    const unknown = await sut.http(`/admin/pricing/${encodeURIComponent('no/such/model')}`, {
      key: sut.adminKey,
      method: 'PUT',
      body: { per_image: '1' },
    });
    expect(unknown.status).toBe(404);
  });

  it('leaves exactly one record per request for mixed models and outcomes, and reports add up (JSON and CSV)', async () => {
    await dataSource.query('TRUNCATE usage_records, usage_daily_rollups');
    const other = await createApiKey(sut);
    const outcomes: Array<[string, () => Promise<Response>, number]> = [
      ['local ok', () => sut.http('/v1/images/generations', { key, body: imageRequest({ prompt: 'a', n: 2 }) }), 200],
      [
        'azure ok',
        () => {
          azure.enqueue(azureAnswer(20, 272));
          return sut.http('/v1/images/generations', {
            key,
            body: { model: GPT_IMAGE_15, prompt: 'b', response_format: 'b64_json' },
          });
        },
        200,
      ],
      [
        'azure gpt-image-2 ok',
        () => {
          azure.enqueue(azureAnswer(8, 400));
          return sut.http('/v1/images/generations', {
            key: other.key,
            body: { model: GPT_IMAGE_2, prompt: 'c', response_format: 'b64_json' },
          });
        },
        200,
      ],
      [
        'validation error',
        () => sut.http('/v1/images/generations', { key, body: { model: 'local/easel/sketch', prompt: 'd', n: 99 } }),
        400,
      ],
      [
        'unknown field',
        () =>
          sut.http('/v1/images/generations', {
            key,
            body: { model: 'local/easel/sketch', prompt: 'e', colour: 'red' },
          }),
        400,
      ],
      [
        'unknown model',
        () => sut.http('/v1/images/generations', { key, body: { model: 'nope/nope/nope', prompt: 'f' } }),
        404,
      ],
      [
        'refusal',
        () => {
          azure.enqueue({ status: 400, body: { error: { code: 'contentFilter', message: 'blocked' } } });
          return sut.http('/v1/images/generations', { key, body: { model: GPT_IMAGE_15, prompt: 'g' } });
        },
        400,
      ],
      [
        'upstream 500 (after retries)',
        () => {
          azure.enqueue(...Array(3).fill({ status: 500, body: { error: { code: 'x', message: 'y' } } }));
          return sut.http('/v1/images/generations', {
            key: other.key,
            body: { model: GPT_IMAGE_15, prompt: 'h' },
          });
        },
        502,
      ],
      ['models list', () => sut.http('/v1/models', { key }), 200],
      ['bad json', () => sut.http('/v1/images/generations', { key, body: '{"model":' }), 400],
    ];
    for (const [name, send, status] of outcomes) {
      const response = await send();
      expect({ name, status: response.status }).toEqual({ name, status });
    }
    // Not charged to anyone: no valid key.
    expect(
      (await sut.http('/v1/images/generations', { body: { model: 'local/easel/sketch', prompt: 'x' } })).status,
    ).toBe(401);

    await waitFor(count, (n) => n >= outcomes.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await count()).toBe(outcomes.length);

    const records = (await dataSource.query('SELECT * FROM usage_records')) as Array<
      Record<string, string | number | null>
    >;
    const errors = records.filter((r) => r.status === 'error');
    expect(errors.map((r) => r.error_code).sort()).toEqual(
      [
        'content_policy_violation',
        'invalid_json',
        'invalid_value',
        'model_not_found',
        'unknown_parameter',
        'upstream_error',
      ].sort(),
    );
    expect(errors.find((r) => r.error_code === 'upstream_error')).toMatchObject({
      provider: 'azure-openai',
      route: 'default',
      model: GPT_IMAGE_15,
    });

    const all = await admin<Report>('/admin/usage?group_by=model');
    const sumCost = records.reduce((sum, r) => sum + BigInt(String(r.cost_usd).replace('.', '')), 0n);
    expect(all.totals).toEqual({
      requests: records.length,
      errors: errors.length,
      images: records.reduce((s, r) => s + Number(r.images), 0),
      input_tokens: records.reduce((s, r) => s + Number(r.input_tokens), 0),
      output_tokens: records.reduce((s, r) => s + Number(r.output_tokens), 0),
      cost_usd: '0.01758', // (20×5 + 272×20 [the price set above] + 8×5 + 400×30) / 1e6
    });
    expect(sumCost).toBe(17_580_000_000n);
    for (const field of ['requests', 'errors', 'images', 'input_tokens', 'output_tokens'] as const) {
      expect(all.rows.reduce((s, row) => s + row[field], 0)).toBe(all.totals[field]);
    }
    expect(all.rows.find((row) => row.group === 'local/easel/sketch')).toMatchObject({
      requests: 3,
      images: 2,
      cost_usd: '0',
    });

    for (const groupBy of ['api_key', 'team', 'day', 'provider', 'endpoint']) {
      const report = await admin<Report>(`/admin/usage?group_by=${groupBy}`);
      expect({ groupBy, totals: report.totals }).toEqual({ groupBy, totals: all.totals });
    }
    const byKey = await admin<Report>(`/admin/usage?group_by=api_key&api_key=${other.id}`);
    expect(byKey.totals).toMatchObject({ requests: 2, errors: 1, cost_usd: '0.01204' });
    const byEndpoint = await admin<Report>('/admin/usage?group_by=endpoint');
    expect(byEndpoint.rows.map((row) => row.group).sort()).toEqual(['images', 'models']);

    const csvResponse = await sut.http('/admin/usage?group_by=model', {
      key: sut.adminKey,
      headers: { accept: 'text/csv' },
    });
    expect(csvResponse.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...lines] = (await csvResponse.text()).trim().split('\n');
    expect(header).toBe('group,requests,errors,images,input_tokens,output_tokens,cost_usd');
    expect(lines.map((line) => line.split(','))).toEqual(
      all.rows.map((row) =>
        [row.group, row.requests, row.errors, row.images, row.input_tokens, row.output_tokens, row.cost_usd].map(
          String,
        ),
      ),
    );
    const csvByParam = await sut.http('/admin/usage?group_by=model&format=csv', { key: sut.adminKey });
    expect(csvByParam.headers.get('content-type')).toMatch(/^text\/csv/);

    // Without split_by, the answer is as it always was: no split_by, no split on any row.
    expect(Object.keys(all).sort()).toEqual(['from', 'group_by', 'rows', 'to', 'totals']);
    for (const row of all.rows) expect(Object.keys(row)).not.toContain('split');

    // split_by: a row per (group, split), ordered by group then split; each group's rows add up to
    // its row without a split, and the totals are the same.
    const perKey = await admin<Report>('/admin/usage?group_by=api_key');
    const byKeyAndModel = await admin<Report>('/admin/usage?group_by=api_key&split_by=model');
    expect(byKeyAndModel).toMatchObject({ group_by: 'api_key', split_by: 'model', totals: all.totals });
    // (The order, by group then split in the database's collation, is checked in usage-rollups.)
    const pair = (group: unknown, split: unknown) => JSON.stringify([group, split]);
    expect(byKeyAndModel.rows.map((row) => pair(row.group, row.split)).sort()).toEqual(
      [...new Set(records.map((r) => pair(r.api_key_id, r.model ?? '(none)')))].sort(),
    );
    for (const row of perKey.rows) {
      const parts = byKeyAndModel.rows.filter((part) => part.group === row.group);
      for (const field of ['requests', 'errors', 'images', 'input_tokens', 'output_tokens'] as const) {
        expect({ group: row.group, field, sum: parts.reduce((s, part) => s + part[field], 0) }).toEqual({
          group: row.group,
          field,
          sum: row[field],
        });
      }
    }
    expect(byKeyAndModel.rows.find((row) => row.group === keyId && row.split === GPT_IMAGE_15)).toMatchObject({
      requests: 2,
      errors: 1,
      images: 1,
    });
    // A request without a model (bad JSON) splits as '(none)'; a day splits as YYYY-MM-DD.
    const byEndpointAndModel = await admin<Report>('/admin/usage?group_by=endpoint&split_by=model');
    expect(byEndpointAndModel.rows.filter((row) => row.split === '(none)').map((row) => row.group)).toEqual([
      'images',
      'models',
    ]);
    const byModelAndDay = await admin<Report>('/admin/usage?group_by=model&split_by=day');
    expect(new Set(byModelAndDay.rows.map((row) => row.split))).toEqual(
      new Set(records.map((r) => new Date(String(r.created_at)).toISOString().slice(0, 10))),
    );

    // CSV with split_by: a split column after group, the same rows.
    const splitCsv = await sut.http('/admin/usage?group_by=api_key&split_by=model&format=csv', { key: sut.adminKey });
    expect(splitCsv.headers.get('content-disposition')).toBe('attachment; filename="easel-usage-api_key-model.csv"');
    const [splitHeader, ...splitLines] = (await splitCsv.text()).trim().split('\n');
    expect(splitHeader).toBe('group,split,requests,errors,images,input_tokens,output_tokens,cost_usd');
    expect(splitLines.map((line) => line.split(','))).toEqual(
      byKeyAndModel.rows.map((row) =>
        [
          row.group,
          row.split,
          row.requests,
          row.errors,
          row.images,
          row.input_tokens,
          row.output_tokens,
          row.cost_usd,
        ].map(String),
      ),
    );

    // endpoint and status filters, on the report and the records alike.
    const failures = await admin<Report>('/admin/usage?status=error');
    expect(failures.totals).toMatchObject({ requests: errors.length, errors: errors.length });
    const successes = await admin<Report>('/admin/usage?status=success&group_by=endpoint');
    expect(successes.totals).toMatchObject({ requests: records.length - errors.length, errors: 0 });
    expect(successes.totals.cost_usd).toBe(all.totals.cost_usd);
    const modelReads = await admin<Report>('/admin/usage?endpoint=models&group_by=endpoint&split_by=api_key');
    expect(modelReads.rows).toEqual([{ group: 'models', split: keyId, ...modelReads.totals }]);
    expect(modelReads.totals).toMatchObject({ requests: 1, errors: 0, cost_usd: '0' });
    const imageFailures = await admin<Report>('/admin/usage?endpoint=images&status=error&group_by=model');
    expect(imageFailures.totals.requests).toBe(errors.filter((r) => r.endpoint === 'images').length);
    const failedRecords = await admin<{ data: Array<{ id: string; status: string }> }>(
      '/admin/usage/records?status=error&limit=1000',
    );
    expect(failedRecords.data.map((record) => record.id).sort()).toEqual(errors.map((r) => String(r.id)).sort());
    const modelRecords = await admin<{ data: Array<{ endpoint: string }> }>('/admin/usage/records?endpoint=models');
    expect(modelRecords.data.map((record) => record.endpoint)).toEqual(['models']);
  });

  it('refuses a bad split_by, endpoint or status with a 400 naming it', async () => {
    const cases: Array<[query: string, param: string, paths?: string[]]> = [
      ['split_by=model', 'split_by'], // the default group_by
      ['group_by=team&split_by=team', 'split_by'],
      ['group_by=day&split_by=day', 'split_by'],
      ['split_by=color', 'split_by'],
      ['split_by=', 'split_by'],
      ['split_by=Team', 'split_by'],
      ['group_by=day&split_by=team&split_by=model', 'split_by'],
      ['split_by[]=team', 'split_by[]'],
      ['endpoint=images.generations', 'endpoint', ['/admin/usage', '/admin/usage/records']],
      ['endpoint=IMAGES', 'endpoint', ['/admin/usage', '/admin/usage/records']],
      ['endpoint=', 'endpoint', ['/admin/usage', '/admin/usage/records']],
      ['endpoint=images&endpoint=chat', 'endpoint', ['/admin/usage', '/admin/usage/records']],
      ['endpoint[]=images', 'endpoint[]', ['/admin/usage', '/admin/usage/records']],
      [`endpoint=${'i'.repeat(5000)}`, 'endpoint', ['/admin/usage', '/admin/usage/records']],
      ['status=failed', 'status', ['/admin/usage', '/admin/usage/records']],
      ['status=ERROR', 'status', ['/admin/usage', '/admin/usage/records']],
      ['status=success&status=error', 'status', ['/admin/usage', '/admin/usage/records']],
      ['split_by=%00', 'split_by'],
      ['endpoint=images%00', 'endpoint', ['/admin/usage', '/admin/usage/records']],
      ['status=%00', 'status', ['/admin/usage', '/admin/usage/records']],
      // The record listing has no split_by.
      ['split_by=team', 'split_by', ['/admin/usage/records']],
    ];
    for (const [query, param, paths = ['/admin/usage']] of cases) {
      for (const path of paths) {
        const response = await sut.http(`${path}?${query}`, { key: sut.adminKey });
        const body = (await response.json()) as { error: { type: string; param: string; message: string } };
        expect({ path, query, status: response.status, type: body.error?.type, param: body.error?.param }).toEqual({
          path,
          query,
          status: 400,
          type: 'invalid_request_error',
          param,
        });
      }
    }
    const unknownEndpoint = await sut.http('/admin/usage?endpoint=image', { key: sut.adminKey });
    expect(((await unknownEndpoint.json()) as { error: { message: string } }).error.message).toContain(
      'must be one of: images, images.edits, chat, models, usage',
    );
    const same = await sut.http('/admin/usage?group_by=team&split_by=team', { key: sut.adminKey });
    expect(((await same.json()) as { error: { message: string } }).error.message).toMatch(/split_by must differ/);
  });

  it('pages through records newest first with a cursor', async () => {
    const total = await count();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        data: Array<{ id: string; created_at: string; request_id: string; cost_usd: string }>;
        next_cursor: string | null;
      } = await admin(`/admin/usage/records?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((record) => record.id));
      for (const record of page.data)
        expect(record).toMatchObject({
          request_id: expect.any(String),
          cost_usd: expect.stringMatching(/^\d+(\.\d+)?$/),
        });
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);

    const badCursor = await sut.http('/admin/usage/records?cursor=garbage', { key: sut.adminKey });
    expect(badCursor.status).toBe(400);
    expect((await sut.http('/admin/usage/records?limit=1001', { key: sut.adminKey })).status).toBe(400);
    expect((await sut.http('/admin/usage?group_by=color', { key: sut.adminKey })).status).toBe(400);
  });
});
