import sharp from 'sharp';
import { Agent, fetch } from 'undici';
import { waitFor } from '../utils/wait-for.js';
import { CONTENT_FILTER_BODIES, FakeAzureOpenAiServer, OUTPUT_TOKENS } from './fake-azure-openai.server.js';

const API_KEY = 'azure-fake-spec-key-0123';
const DEPLOYMENT = 'gpt-image-1';
const API_VERSION = '2025-04-01-preview';

interface ImagesAnswer {
  data: Array<{ b64_json: string }>;
  size: string;
  quality: string;
  output_format: string;
  background: string;
  usage: { input_tokens: number; output_tokens: number; total_tokens: number };
}

/**
 * The fake Azure OpenAI resource itself: the e2e specs trust it to be as strict as Azure (a
 * request Easel maps wrongly must fail there, not pass), and its scripting and recording (the
 * machinery of every fake, `FakeHttpServer`) to do what the tests ask.
 */
describe('FakeAzureOpenAiServer (the fake itself)', () => {
  let azure: FakeAzureOpenAiServer;
  /** Its own connection pool, closed at the end, so no socket outlives the file. */
  const agent = new Agent();

  const url = ({
    deployment = DEPLOYMENT,
    apiVersion = API_VERSION,
  }: { deployment?: string; apiVersion?: string | null } = {}) =>
    `${azure.baseUrl}/openai/deployments/${deployment}/images/generations${apiVersion === null ? '' : `?api-version=${apiVersion}`}`;

  const post = (target: string, body: unknown, apiKey: string | null = API_KEY) =>
    fetch(target, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey === null ? {} : { 'api-key': apiKey }) },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: API_KEY, deployments: [DEPLOYMENT] }).start();
  });

  beforeEach(() => azure.reset());

  afterAll(async () => {
    await azure.stop();
    await agent.destroy();
  });

  it('answers real image bytes of the size and format asked for, and usage by prompt length and quality', async () => {
    const response = await post(url(), {
      prompt: 'x'.repeat(200),
      n: 2,
      size: '1536x1024',
      quality: 'low',
      output_format: 'jpeg',
    });

    expect(response.status).toBe(200);
    const body = (await response.json()) as ImagesAnswer;
    expect(body).toMatchObject({ size: '1536x1024', quality: 'low', output_format: 'jpeg', background: 'opaque' });
    expect(body.data).toHaveLength(2);
    const metadata = await sharp(Buffer.from(body.data[0]!.b64_json, 'base64')).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', width: 1536, height: 1024 });
    const output = 2 * OUTPUT_TOKENS.low!['1536x1024']!;
    expect(body.usage).toMatchObject({ input_tokens: 50, output_tokens: output, total_tokens: 50 + output });
    expect(azure.generationRequests).toHaveLength(1);
    expect(azure.generationRequests[0]).toMatchObject({
      method: 'POST',
      path: `/openai/deployments/${DEPLOYMENT}/images/generations`,
    });
    expect(azure.generationRequests[0]!.query.get('api-version')).toBe(API_VERSION);
  });

  it('streams partial images, then the completed one with its usage, as server-sent events', async () => {
    const response = await post(url(), {
      prompt: 'a kite',
      size: '1024x1024',
      quality: 'low',
      stream: true,
      partial_images: 2,
    });

    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text())
      .split('\n\n')
      .filter(Boolean)
      .map((block) => /^event: (\S+)\ndata: (.*)$/s.exec(block)!.slice(1));
    expect(events.map(([type]) => type)).toEqual([
      'image_generation.partial_image',
      'image_generation.partial_image',
      'image_generation.completed',
    ]);
    expect(JSON.parse(events[2]![1]!)).toMatchObject({
      type: 'image_generation.completed',
      usage: { output_tokens: 272 },
    });
  });

  it('refuses a wrong api-key with 401, and an unknown api-version or deployment with 404', async () => {
    expect((await post(url(), { prompt: 'p' }, 'wrong-key')).status).toBe(401);
    expect((await post(url(), { prompt: 'p' }, null)).status).toBe(401);
    expect((await post(url({ apiVersion: '2024-02-01' }), { prompt: 'p' })).status).toBe(404);
    expect((await post(url({ apiVersion: null }), { prompt: 'p' })).status).toBe(404);
    const deployment = await post(url({ deployment: 'dall-e-3' }), { prompt: 'p' });
    expect(deployment.status).toBe(404);
    expect(await deployment.json()).toMatchObject({ error: { code: 'DeploymentNotFound' } });
    expect(azure.unexpected).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'response_format, which Azure does not take',
      { response_format: 'b64_json' },
      'unknown_parameter',
      'response_format',
    ],
    ['an empty prompt', { prompt: '' }, 'invalid_value', 'prompt'],
    ['n 11', { n: 11 }, 'invalid_value', 'n'],
    ['a size GPT image models do not make', { size: '512x512' }, 'invalid_value', 'size'],
    ['a transparent jpeg', { background: 'transparent', output_format: 'jpeg' }, 'invalid_value', 'background'],
    ['output_compression for a png', { output_compression: 50 }, 'invalid_value', 'output_compression'],
    ['partial_images without stream', { partial_images: 1 }, 'invalid_value', 'partial_images'],
  ])('refuses %s with 400 naming the parameter', async (_name, fields, code, param) => {
    const response = await post(url(), { prompt: 'p', ...fields });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code, param, type: 'invalid_request_error' } });
  });

  it('answers scripted responses first, in order, then resumes its normal behaviour', async () => {
    azure.enqueue(
      { status: 400, body: CONTENT_FILTER_BODIES.contentFilter },
      { status: 500, raw: '<html>oops</html>' },
    );

    const refused = await post(url(), { prompt: 'p' });
    const broken = await post(url(), { prompt: 'p' });
    const normal = await post(url(), { prompt: 'p', size: '1024x1024', quality: 'low' });

    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual(CONTENT_FILTER_BODIES.contentFilter);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe('<html>oops</html>');
    expect(normal.status).toBe(200);
    expect(azure.generationRequests).toHaveLength(3);
  });

  it('drops the connection for a scripted reset, and counts a slow response the client gave up on', async () => {
    azure.enqueue({ status: 200, reset: true }, { status: 200, delayMs: 5_000, body: {} });

    await expect(post(url(), { prompt: 'p' })).rejects.toThrow();
    const gaveUp = new AbortController();
    const slow = fetch(url(), {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': API_KEY },
      body: '{"prompt":"p"}',
      signal: gaveUp.signal,
    });
    await waitFor(
      async () => azure.requests.length,
      (count) => count === 2,
    );
    gaveUp.abort();

    await expect(slow).rejects.toThrow();
    await waitFor(
      async () => azure.abortedResponses,
      (count) => count === 1,
    );
  });

  it('records a request to a route it does not serve as unexpected, answers 404, and forgets it on reset', async () => {
    const response = await fetch(
      `${azure.baseUrl}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=${API_VERSION}`,
      {
        dispatcher: agent,
        method: 'POST',
        body: '{}',
      },
    );

    expect(response.status).toBe(404);
    expect(azure.unexpected).toEqual([`POST /openai/deployments/${DEPLOYMENT}/chat/completions`]);
    azure.reset();
    expect(azure.unexpected).toEqual([]);
    expect(azure.requests).toEqual([]);
  });
});
