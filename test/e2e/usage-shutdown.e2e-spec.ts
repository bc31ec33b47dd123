import pg from 'pg';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTestApp } from '../utils/test-app.js';

describe('Usage records at shutdown', () => {
  it('flushes queued records before the app stops', async () => {
    const sut = await createTestApp();
    const { key } = await createApiKey(sut);
    const requests = Array.from({ length: 20 }, (_, i) =>
      sut.http('/v1/images/generations', {
        key,
        body: imageRequest({ prompt: `shutdown ${i}` }),
        headers: { 'x-request-id': `shutdown-${i}` },
      }),
    );
    expect((await Promise.all(requests)).map((response) => response.status)).toEqual(Array(20).fill(200));
    await sut.close({ keep: true }); // right away: the 100 ms flush timer has not necessarily run

    const client = new pg.Client({ connectionString: sut.database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM usage_records WHERE request_id LIKE 'shutdown-%'`,
      );
      expect(rows[0]!.n).toBe('20');
    } finally {
      await client.end();
      await sut.database.drop();
    }
  });
});

describe('Graceful shutdown', () => {
  it('finishes a request in flight before closing, and records it', async () => {
    const { FakeAzureOpenAiServer } = await import('../fakes/fake-azure-openai.server.js');
    const { AZURE_KEY } = await import('../utils/upstream-apps.js');
    const azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    const sut = await createTestApp({ env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY } });
    try {
      const { key } = await createApiKey(sut);
      azure.responseDelayMs = 700;
      const inFlight = sut.http('/v1/images/generations', {
        key,
        body: { model: 'azure/openai/gpt-image-1.5', prompt: 'slow', response_format: 'b64_json' },
        headers: { 'x-request-id': 'in-flight-at-shutdown' },
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const closing = sut.close({ keep: true });

      expect((await inFlight).status).toBe(200);
      await closing;
      const client = new pg.Client({ connectionString: sut.database.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          `SELECT status FROM usage_records WHERE request_id = 'in-flight-at-shutdown'`,
        );
        expect(rows).toEqual([{ status: 'success' }]);
      } finally {
        await client.end();
      }
    } finally {
      await sut.database.drop();
      await azure.stop();
    }
  });
});
