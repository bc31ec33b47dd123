import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { Agent, fetch as undiciFetch } from 'undici';
import { createApiKey } from '../factories/api-key.factory.js';
import type { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const BODY = {
  model: 'azure/openai/gpt-image-1.5',
  prompt: 'x'.repeat(40),
  size: '1024x1024',
  quality: 'low',
  response_format: 'b64_json',
};

describe('Idempotency-Key', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app));

  const generate = (idempotencyKey: string, body: object = BODY, apiKey = key, requestId?: string) =>
    sut.http('/v1/images/generations', {
      key: apiKey,
      body,
      headers: { 'idempotency-key': idempotencyKey, ...(requestId ? { 'x-request-id': requestId } : {}) },
    });

  /** A pending record as another instance running the request would have left it, its lease ending `leaseEnds` from now. */
  const insertPending = (apiKeyId: string, idempotencyKey: string, leaseEnds: string) =>
    sut.app.get(DataSource).query(
      `INSERT INTO idempotency_records (api_key_id, idempotency_key, request_hash, state, lease_owner, lease_expires_at, expires_at)
       VALUES ($1, $2, $3, 'pending', gen_random_uuid(), now() + $4::interval, now() + interval '24 hours')`,
      [
        apiKeyId,
        idempotencyKey,
        createHash('sha256')
          .update(`/v1/images/generations\n${JSON.stringify(BODY)}`)
          .digest('hex'),
        leaseEnds,
      ],
    );

  it('answers two identical requests with one upstream call, the same images and created, and one charge', async () => {
    const first = await generate('order-1');
    const second = await generate('order-1');

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(azure.generationRequests).toHaveLength(1);
    const [a, b] = (await Promise.all([first.json(), second.json()])) as Array<{ created: number; data: unknown }>;
    expect(b).toEqual(a);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('x-easel-cost-usd')).toBe('0.008754');
    expect(second.headers.get('x-easel-cost-usd')).toBe('0');

    const dataSource = sut.app.get(DataSource);
    const costs = await waitFor<Array<{ cost_usd: string }>>(
      () => dataSource.query(`SELECT cost_usd FROM usage_records WHERE model = $1 ORDER BY created_at`, [BODY.model]),
      (rows) => rows.length === 2,
    );
    expect(costs.map((row) => row.cost_usd)).toEqual(['0.008754000000', '0.000000000000']);
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

    const { key: otherKey } = await createApiKey(sut);
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

  describe('when the first request dies with its instance', () => {
    it('lets a retry take over a pending request whose lease ran out: 200, one upstream call, and its answer kept', async () => {
      const { id: apiKeyId, key: ownKey } = await createApiKey(sut);
      await insertPending(apiKeyId, 'dead-1', '-1 second');

      const response = await generate('dead-1', BODY, ownKey);

      expect(response.status).toBe(200);
      expect(response.headers.get('idempotent-replayed')).toBeNull();
      expect(azure.generationRequests).toHaveLength(1);
      const replay = await generate('dead-1', BODY, ownKey);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.json()).toEqual(await response.json());
      expect(azure.generationRequests).toHaveLength(1);
    });

    it('makes a duplicate wait while the lease lives, and answers the first result', async () => {
      const { id: apiKeyId, key: ownKey } = await createApiKey(sut);
      await insertPending(apiKeyId, 'live-1', '30 seconds');
      let answered = false;
      const duplicate = generate('live-1', BODY, ownKey).finally(() => (answered = true));

      await sleep(500);
      expect(answered).toBe(false);
      const first = { created: 1_750_000_000, data: [{ b64_json: 'iVBORw0KGgo=' }] };
      await sut.app.get(DataSource).query(
        `UPDATE idempotency_records SET state = 'done', response_body = $3::jsonb, lease_owner = NULL, lease_expires_at = NULL
          WHERE api_key_id = $1 AND idempotency_key = $2`,
        [apiKeyId, 'live-1', JSON.stringify(first)],
      );

      const response = await duplicate;
      expect(response.status).toBe(200);
      expect(response.headers.get('idempotent-replayed')).toBe('true');
      expect(await response.json()).toEqual(first);
      expect(azure.generationRequests).toHaveLength(0);
    });

    it('makes a duplicate wait for a lease that then runs out, and take the request over', async () => {
      const { id: apiKeyId, key: ownKey } = await createApiKey(sut);
      await insertPending(apiKeyId, 'dying-1', '1 second');

      const response = await generate('dying-1', BODY, ownKey);

      expect(response.status).toBe(200);
      expect(response.headers.get('idempotent-replayed')).toBeNull();
      expect(azure.generationRequests).toHaveLength(1);
    });

    it('does not let a retry with another body take over an expired lease', async () => {
      const { id: apiKeyId, key: ownKey } = await createApiKey(sut);
      await insertPending(apiKeyId, 'dead-2', '-1 second');

      const response = await generate('dead-2', { ...BODY, prompt: 'something else' }, ownKey);

      expect(response.status).toBe(409);
      expect(azure.generationRequests).toHaveLength(0);
    });
  });

  it('finishes a request whose client went away and stores its answer: the retry gets the image, and the call is paid and charged once', async () => {
    const { id: apiKeyId, key: ownKey } = await createApiKey(sut, { monthly_budget_usd: '5' });
    azure.responseDelayMs = 1_000;
    const abortedBefore = azure.abortedResponses;
    const client = new AbortController();
    // A client of its own: the global fetch can leave an unused connection behind after an abort,
    // which would hold the server's close until its headers timeout.
    const agent = new Agent();
    const first = undiciFetch(`${sut.baseUrl}/v1/images/generations`, {
      dispatcher: agent,
      method: 'POST',
      headers: {
        authorization: `Bearer ${ownKey}`,
        'content-type': 'application/json',
        'idempotency-key': 'gone-1',
        'x-request-id': 'gone-first',
      },
      body: JSON.stringify(BODY),
      signal: client.signal,
    });
    await waitFor(
      async () => azure.generationRequests.length,
      (count) => count === 1,
    );
    client.abort();
    await expect(first).rejects.toThrow();
    await agent.destroy();

    const dataSource = sut.app.get(DataSource);
    await waitFor<Array<{ state: string }>>(
      () => dataSource.query(`SELECT state FROM idempotency_records WHERE idempotency_key = 'gone-1'`),
      (rows) => rows[0]?.state === 'done',
    );
    expect(azure.abortedResponses).toBe(abortedBefore);

    const retry = await generate('gone-1', BODY, ownKey, 'gone-retry');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('x-easel-cost-usd')).toBe('0');
    const { data } = (await retry.json()) as { data: Array<{ b64_json: string }> };
    expect(Buffer.from(data[0]!.b64_json, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(azure.generationRequests).toHaveLength(1);

    // The request whose client left is recorded once, as 499, with the cost of the call it finished;
    // the retry is free; the key's budget is charged that cost once, nothing left reserved.
    const records = await waitFor<Array<{ request_id: string; http_status: number; cost_usd: string }>>(
      () =>
        dataSource.query(
          `SELECT request_id, http_status, cost_usd FROM usage_records WHERE request_id IN ('gone-first', 'gone-retry') ORDER BY created_at`,
        ),
      (rows) => rows.length === 2,
    );
    expect(new Map(records.map((record) => [record.request_id, record]))).toEqual(
      new Map([
        ['gone-first', { request_id: 'gone-first', http_status: 499, cost_usd: '0.008754000000' }],
        ['gone-retry', { request_id: 'gone-retry', http_status: 200, cost_usd: '0.000000000000' }],
      ]),
    );
    const budget = await waitFor<Array<{ spent: string; reserved: string }>>(
      () => dataSource.query(`SELECT spent, reserved FROM budget_spend WHERE scope = $1`, [`key:${apiKeyId}`]),
      (rows) => rows[0]?.reserved === '0.000000000000',
    );
    expect(budget).toEqual([{ spent: '0.008754000000', reserved: '0.000000000000' }]);
  });
});
