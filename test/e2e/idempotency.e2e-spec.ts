import { DataSource } from 'typeorm';
import type { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const BODY = { model: 'azure/openai/gpt-image-1', prompt: 'x'.repeat(40), size: '1024x1024', quality: 'low', response_format: 'b64_json' };

describe('Idempotency-Key', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app));

  const generate = (idempotencyKey: string, body: object = BODY, apiKey = key) =>
    sut.http('/v1/images/generations', { key: apiKey, body, headers: { 'idempotency-key': idempotencyKey } });

  it('answers two identical requests with one upstream call, the same images and created, and one charge', async () => {
    const first = await generate('order-1');
    const second = await generate('order-1');

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(azure.generationRequests).toHaveLength(1);
    const [a, b] = (await Promise.all([first.json(), second.json()])) as Array<{ created: number; data: unknown }>;
    expect(b).toEqual(a);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('x-easel-cost-usd')).toBe('0.01093');
    expect(second.headers.get('x-easel-cost-usd')).toBe('0');

    const dataSource = sut.app.get(DataSource);
    const costs = await waitFor<Array<{ cost_usd: string }>>(
      () => dataSource.query(`SELECT cost_usd FROM usage_records WHERE model = $1 ORDER BY created_at`, [BODY.model]),
      (rows) => rows.length === 2,
    );
    expect(costs.map((row) => row.cost_usd)).toEqual(['0.010930000000', '0.000000000000']);
  });

  it('makes a concurrent duplicate wait for the first instead of calling again', async () => {
    azure.responseDelayMs = 300;
    const [first, second] = await Promise.all([generate('order-2'), generate('order-2')]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(azure.generationRequests).toHaveLength(1);
    expect(await second.json()).toEqual(await first.json());
  });

  it('refuses the same key with a different body with 409, and keeps keys apart per API key', async () => {
    expect((await generate('order-3')).status).toBe(200);
    const conflict = await generate('order-3', { ...BODY, prompt: 'something else' });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { param: 'Idempotency-Key', type: 'invalid_request_error' } });

    const { key: otherKey } = await sut.createKey();
    expect((await generate('order-3', BODY, otherKey)).status).toBe(200);
    expect(azure.generationRequests).toHaveLength(2);
  });

  it('does not remember failures, so the same key can be retried', async () => {
    azure.enqueue({ status: 400, body: { error: { code: 'contentFilter', message: 'blocked' } } });
    expect((await generate('order-4')).status).toBe(400);
    expect((await generate('order-4')).status).toBe(200);
    expect(azure.generationRequests).toHaveLength(2);
  });

  it('refuses it with stream and a malformed key', async () => {
    expect((await generate('order-5', { ...BODY, stream: true, response_format: undefined })).status).toBe(400);
    expect((await generate(' '.repeat(3))).status).toBe(400);
  });
});
