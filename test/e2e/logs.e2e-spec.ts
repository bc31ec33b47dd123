import { createApiKey } from '../factories/api-key.factory.js';
import { chatRequest, imageRequest } from '../factories/request-body.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';

/**
 * Every log line the app writes while serving a varied workload, checked for what must never be
 * in a log: API keys, the admin key, upstream credentials, prompts and image bytes.
 */
describe('Logs', () => {
  const lines: string[] = [];
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    sut = await createTestApp({
      env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY, LOG_LEVEL: 'trace' },
      logs: lines,
    });
  });

  afterAll(async () => {
    await sut.close();
    await azure.stop();
  });

  it('carry request id, key prefix, model, status and latency, and never a key, a prompt or image data', async () => {
    const { key } = await createApiKey(sut);
    const prompts = ['A secret prompt about a purple walrus', 'Another confidential prompt: quarterly launch poster'];
    const images: string[] = [];

    const local = (await (
      await sut.http('/v1/images/generations', { key, body: imageRequest({ prompt: prompts[0] }) })
    ).json()) as { data: Array<{ b64_json: string }> };
    images.push(local.data[0]!.b64_json);
    const viaAzure = (await (
      await sut.http('/v1/images/generations', {
        key,
        body: { model: 'azure/openai/gpt-image-1.5', prompt: prompts[1], response_format: 'b64_json' },
      })
    ).json()) as { data: Array<{ b64_json: string }> };
    images.push(viaAzure.data[0]!.b64_json);
    const chat = (await (
      await sut.http('/v1/chat/completions', { key, body: chatRequest({ content: prompts[0] }) })
    ).json()) as { choices: Array<{ message: { images: Array<{ image_url: { url: string } }> } }> };
    images.push(chat.choices[0]!.message.images[0]!.image_url.url.split(',')[1]!);
    azure.enqueue(...Array(3).fill({ status: 500, body: { error: { code: 'x', message: 'upstream failed' } } }));
    await sut.http('/v1/images/generations', {
      key,
      body: { model: 'azure/openai/gpt-image-1.5', prompt: prompts[1] },
    });
    await sut.http('/v1/images/generations', {
      key: 'sk-easel-WrongKeyThatShouldNeverBeLogged00000000000',
      body: { model: 'local/easel/sketch', prompt: prompts[0] },
    });
    await sut.http('/v1/images/generations', { key, body: `{"model":"local/easel/sketch","prompt":"${prompts[0]}"` });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const text = lines.join('\n');
    const requestLines = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'request');
    expect(requestLines.find((entry) => entry.path === '/v1/images/generations' && entry.status === 200)).toMatchObject(
      {
        requestId: expect.stringMatching(/^req_/),
        keyPrefix: key.slice(0, 17),
        model: 'local/easel/sketch',
        latencyMs: expect.any(Number),
      },
    );
    expect(text).toContain('Retrying in'); // the upstream failures were logged

    for (const secret of [key, sut.adminKey!, AZURE_KEY, 'WrongKeyThatShouldNeverBeLogged', ...prompts]) {
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    }
    for (const image of images) expect(text.includes(image.slice(100, 300))).toBe(false);
  });
});
