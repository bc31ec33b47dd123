import { type ClientRequest, request as httpRequest } from 'node:http';
import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { RecordedRequest, ScriptedResponse } from '../fakes/fake-http.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const GENERATIONS = '/v1/images/generations';
const MODEL = 'azure/openai/gpt-image-1.5';
/** gpt-image-1.5, low quality 1024x1024: a budget estimate of (1 × 5 + 272 × 32) / 1e6 = 0.008709 USD. */
const BODY = imageRequest({
  model: MODEL,
  prompt: 'abcd',
  size: '1024x1024',
  quality: 'low',
  response_format: 'b64_json',
});
/** The bytes counted for BODY's answer: one 1024x1024 PNG at 4 bytes a pixel, as base64. */
const ANSWER_BYTES = 5_592_408;
/** Two answers fit (11,184,816 bytes), a third does not: past the limit by 4,777,224 bytes, 2 s of Retry-After. */
const MAX_IN_FLIGHT_BYTES = 12_000_000;

/** Fake Azure that, while `hold()` is on, keeps every generation that arrives until `release()`. */
class HoldingAzureServer extends FakeAzureOpenAiServer {
  private gate?: { released: Promise<void>; open: () => void };

  hold(): void {
    let open!: () => void;
    const released = new Promise<void>((resolve) => (open = resolve));
    this.gate = { released, open };
  }

  release(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  protected override async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    await this.gate?.released;
    return super.respond(request);
  }
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

describe('MAX_IN_FLIGHT_BYTES: answers in flight, refused past the limit with 503 overloaded', () => {
  let azure: HoldingAzureServer;
  let sut: TestApp;
  let key: string;
  const logs: string[] = [];
  let requestCount = 0;

  beforeAll(async () => {
    azure = await new HoldingAzureServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    sut = await createTestApp({
      env: {
        AZURE_OPENAI_ENDPOINT: azure.baseUrl,
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        MAX_IN_FLIGHT_BYTES: String(MAX_IN_FLIGHT_BYTES),
      },
      logs,
    });
    ({ key } = await createApiKey(sut));
  });

  beforeEach(() => azure.reset());

  afterEach(async () => {
    azure.release();
    expect(azure.unexpected).toEqual([]);
    // Nothing a test left in flight counts in the next.
    await waitFor(
      () => inFlightBytes(),
      (bytes) => bytes === 0,
    );
  });

  afterAll(async () => {
    await sut?.close();
    await azure?.stop();
  });

  /** A generation under a fresh request id, for finding its usage record and log line. */
  function generate(headers: Record<string, string> = {}, apiKey = key): { id: string; response: Promise<Response> } {
    const id = `in-flight-${++requestCount}`;
    return {
      id,
      response: sut.http(GENERATIONS, { key: apiKey, body: BODY, headers: { 'x-request-id': id, ...headers } }),
    };
  }

  /** A generation on a connection of its own that the test can cut (`destroy()`), as a client that leaves. */
  function generateAndLeaveLater(headers: Record<string, string> = {}): { id: string; client: ClientRequest } {
    const id = `in-flight-${++requestCount}`;
    const client = httpRequest(`${sut.baseUrl}${GENERATIONS}`, {
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-request-id': id,
        ...headers,
      },
    });
    client.on('error', () => undefined);
    client.end(JSON.stringify(BODY));
    return { id, client };
  }

  async function metric(name: string): Promise<number> {
    const text = await (await sut.http('/metrics')).text();
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    if (value === undefined) throw new Error(`no ${name} in /metrics`);
    return Number(value);
  }
  const inFlightBytes = () => metric('easel_in_flight_bytes');

  /** Resolves once `count` generations have reached the fake (they were admitted). */
  const arrivals = (count: number) =>
    waitFor(
      async () => azure.requests.length,
      (arrived) => arrived >= count,
    );

  async function usageRecordOf(requestId: string): Promise<Record<string, unknown>> {
    const query = () =>
      sut.app
        .get(DataSource)
        .query(
          `SELECT status, http_status, error_code, endpoint, model, cost_usd::text AS cost_usd FROM usage_records WHERE request_id = $1`,
          [requestId],
        ) as Promise<Array<Record<string, unknown>>>;
    const rows = await waitFor(query, (found) => found.length > 0);
    return rows[0]!;
  }

  it('refuses the request past the limit with 503 overloaded and Retry-After, calling no upstream and reserving no budget, and serves again once the answers are sent', async () => {
    const budgeted = await createApiKey(sut, { monthly_budget_usd: '10' });
    const refusalsBefore = await metric('easel_overloaded_requests_total');
    azure.hold();
    const first = generate({}, budgeted.key);
    const second = generate({}, budgeted.key);
    await arrivals(2);
    expect(await inFlightBytes()).toBe(2 * ANSWER_BYTES);
    expect(await metric('easel_in_flight_bytes_limit')).toBe(MAX_IN_FLIGHT_BYTES);

    const refused = generate({}, budgeted.key);
    const response = await refused.response;

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect((await response.json()) as ErrorBody).toEqual({
      error: {
        message: 'Easel is sending as many large answers as it may at once; retry in 2 s.',
        type: 'server_error',
        param: null,
        code: 'overloaded',
      },
    });
    expect(azure.requests).toHaveLength(2);
    expect(await metric('easel_overloaded_requests_total')).toBe(refusalsBefore + 1);
    expect(await inFlightBytes()).toBe(2 * ANSWER_BYTES);
    // The two requests in flight hold their budget estimates; the refused one none.
    const keyBody = (await (await sut.http(`/admin/keys/${budgeted.id}`, { key: sut.adminKey })).json()) as {
      reserved_usd: string;
    };
    expect(keyBody.reserved_usd).toBe('0.017418');
    expect(await usageRecordOf(refused.id)).toEqual({
      status: 'error',
      http_status: 503,
      error_code: 'overloaded',
      endpoint: 'images',
      model: MODEL,
      cost_usd: expect.stringMatching(/^0(\.0+)?$/),
    });

    azure.release();
    expect((await first.response).status).toBe(200);
    expect((await second.response).status).toBe(200);
    await waitFor(inFlightBytes, (bytes) => bytes === 0);

    const recovered = await generate().response;
    expect(recovered.status).toBe(200);
    expect(azure.requests).toHaveLength(3);
  });

  it('gives back the bytes of a client that leaves while its request waits for the upstream', async () => {
    azure.hold();
    const leaving = generateAndLeaveLater();
    const staying = generate();
    await arrivals(2);
    expect(await inFlightBytes()).toBe(2 * ANSWER_BYTES);

    leaving.client.destroy();
    await waitFor(inFlightBytes, (bytes) => bytes === ANSWER_BYTES);

    // Admitted: it reaches the upstream beside the one still in flight.
    const next = generate();
    await arrivals(3);
    azure.release();
    expect((await staying.response).status).toBe(200);
    expect((await next.response).status).toBe(200);
    expect(await usageRecordOf(leaving.id)).toMatchObject({ http_status: 499, error_code: 'client_closed_request' });
  });

  it('gives back the bytes of a request whose upstream failed, after its retries', async () => {
    azure.hold();
    const held = generate();
    await arrivals(1);
    const failure = {
      status: 500,
      body: { error: { code: 'InternalServerError', message: 'boom' } },
      headers: { 'retry-after': '0' },
    };
    azure.enqueue(failure, failure, failure);

    const failed = await generate().response;

    expect(failed.status).toBe(502);
    expect(azure.requests).toHaveLength(4);
    await waitFor(inFlightBytes, (bytes) => bytes === ANSWER_BYTES);
    const next = generate();
    await arrivals(5);
    azure.release();
    expect((await held.response).status).toBe(200);
    expect((await next.response).status).toBe(200);
  });

  it('keeps counting an Idempotency-Key request whose client left until its answer has arrived and been stored', async () => {
    azure.hold();
    const leaving = generateAndLeaveLater({ 'idempotency-key': `in-flight-idempotent-${requestCount}` });
    await arrivals(1);

    leaving.client.destroy();
    // Its connection has closed (its log line), yet its work goes on: its bytes stay counted.
    await waitFor(
      async () => logs.some((line) => line.includes(`"requestId":"${leaving.id}"`) && line.includes('"status":499')),
      (logged) => logged,
    );
    expect(await inFlightBytes()).toBe(ANSWER_BYTES);
    const beside = generate();
    await arrivals(2);
    const refused = await generate().response;
    expect(refused.status).toBe(503);
    expect(azure.requests).toHaveLength(2);

    azure.release();
    expect((await beside.response).status).toBe(200);
    await waitFor(inFlightBytes, (bytes) => bytes === 0);
    expect(await usageRecordOf(leaving.id)).toMatchObject({ http_status: 499 });
  });
});
