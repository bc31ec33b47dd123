import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FakeVertexServer } from '../../../test/fakes/fake-vertex.server.js';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { RawJsonString } from '../../common/json/raw-json.js';
import { ByteSpool } from '../../common/spool/byte-spool.js';
import { AppConfig } from '../../config/app.config.js';
import { loadModelCatalogue, type RouteDefinition } from '../../config/models.catalogue.js';
import type { ChatRequest, ChatStreamEvent } from '../chat-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { VertexAdapter, type VertexTarget } from './vertex.adapter.js';
import { VertexAuth } from './vertex-auth.js';

const CATALOGUE = loadModelCatalogue(fileURLToPath(new URL('../../../config/models.yaml', import.meta.url)));
const model = (id: string) => CATALOGUE.find((candidate) => candidate.id === id)!;
const FLASH = model('vertex/google/gemini-2.5-flash-image');
const PRO = model('vertex/google/gemini-3-pro-image');
const TOKEN = 'vertex-spec-token';
const REQUEST: ChatRequest = {
  messages: [{ role: 'user', parts: [{ type: 'text', text: 'draw an otter' }] }],
  modalities: ['text', 'image'],
  n: 1,
};

function route(overrides: Partial<RouteDefinition> = {}): RouteDefinition {
  return { name: 'default', weight: 1, fallback: false, ...overrides };
}

function adapter(env: Record<string, string>): VertexAdapter {
  const config = AppConfig.fromEnv(env);
  return new VertexAdapter(config, new UpstreamHttp(config, new ByteSpool(config.spool)), new VertexAuth(config));
}

describe(`${VertexAdapter.name}.resolveRoute`, () => {
  it.each<[string, Record<string, string>, Partial<RouteDefinition>, string]>([
    [
      'VERTEX_LOCATION (default global) on the global host',
      {},
      {},
      'https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash-image',
    ],
    [
      'a regional VERTEX_LOCATION on its regional host',
      { VERTEX_LOCATION: 'europe-west4' },
      {},
      'https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.5-flash-image',
    ],
    [
      "the route's location global over a regional VERTEX_LOCATION",
      { VERTEX_LOCATION: 'us-central1' },
      { location: 'global' },
      'https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash-image',
    ],
    [
      "the route's regional location over VERTEX_LOCATION global",
      {},
      { location: 'us-east4', upstream_model: 'gemini-2.5-flash-image-001' },
      'https://us-east4-aiplatform.googleapis.com/v1/projects/p/locations/us-east4/publishers/google/models/gemini-2.5-flash-image-001',
    ],
    [
      "the route's location in the path under VERTEX_BASE_URL",
      { VERTEX_LOCATION: 'us-central1', VERTEX_BASE_URL: 'http://127.0.0.1:9' },
      { location: 'global' },
      'http://127.0.0.1:9/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash-image',
    ],
  ])('calls %s', (_what, env, overrides, modelUrl) => {
    const resolved = adapter({ VERTEX_PROJECT: 'p', ...env }).resolveRoute(FLASH, route(overrides));

    expect(resolved).toEqual({ target: { modelUrl, candidatesPerCall: 8, pixels: 'gemini-2.5' }, missing: [] });
  });

  it("takes candidates_per_call and the Gemini 3 pixel table from a Gemini 3 model's catalogue entry", () => {
    const resolved = adapter({ VERTEX_PROJECT: 'p' }).resolveRoute(PRO, PRO.routes[0]!);

    expect(resolved.target).toMatchObject({ candidatesPerCall: 1, pixels: 'gemini-3' });
    expect(resolved.target!.modelUrl).toMatch(/\/locations\/global\/publishers\/google\/models\/gemini-3-pro-image$/);
  });

  it('names VERTEX_PROJECT when it is unset', () => {
    expect(adapter({}).resolveRoute(FLASH, route())).toEqual({ missing: ['VERTEX_PROJECT'] });
  });
});

describe(VertexAdapter.name, () => {
  let vertex: FakeVertexServer;
  let http: UpstreamHttp;
  let sut: VertexAdapter;
  let flash: VertexTarget;
  let pro: VertexTarget;

  beforeAll(async () => {
    vertex = await new FakeVertexServer({
      accessToken: TOKEN,
      project: 'p',
      location: 'us-central1',
      models: ['gemini-2.5-flash-image', 'gemini-3-pro-image'],
    }).start();
    const config = AppConfig.fromEnv({
      VERTEX_PROJECT: 'p',
      VERTEX_LOCATION: 'us-central1',
      VERTEX_ACCESS_TOKEN: TOKEN,
      VERTEX_BASE_URL: vertex.baseUrl,
    });
    http = new UpstreamHttp(config, new ByteSpool(config.spool));
    sut = new VertexAdapter(config, http, new VertexAuth(config));
    flash = sut.resolveRoute(FLASH, FLASH.routes[0]!).target!;
    pro = sut.resolveRoute(PRO, PRO.routes[0]!).target!;
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await vertex.stop();
  });

  beforeEach(() => vertex.reset());

  afterEach(() => expect(vertex.unexpected).toEqual([]));

  /** Streams these `data` lines (each one event) and collects what the adapter yields. */
  async function streamed(...lines: string[]): Promise<ChatStreamEvent[]> {
    vertex.enqueue({ status: 200, stream: { events: lines.map((line) => `data: ${line}\r\n\r\n`) } });
    const events: ChatStreamEvent[] = [];
    for await (const event of sut.chatStream(flash, REQUEST, new AbortController().signal)) events.push(event);
    return events;
  }

  const imageEvent = (data: string) =>
    `{"candidates":[{"content":{"role":"model","parts":[{"inlineData":{"mimeType":"image/png","data":"${data}"}}]},"index":0}]}`;

  it("keeps a long image's base64 as the bytes of the event, and decodes one with escapes", async () => {
    const image = randomBytes(30_000).toString('base64');

    const events = await streamed(
      imageEvent(image),
      imageEvent(`${image.slice(0, 9_000)}\\/${image.slice(9_000)}`),
      '{"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"STOP","index":0}]}',
    );

    const images = events.flatMap((event) => (event.type === 'image' ? [event.image.base64] : []));
    expect(images[0]).toBeInstanceOf(RawJsonString);
    expect(images[0]!.toString()).toBe(image);
    expect(images[1]).toBe(`${image.slice(0, 9_000)}/${image.slice(9_000)}`);
    expect(events.at(-1)).toMatchObject({ type: 'usage', usage: { images: 2 } });
  });

  it.each([
    ['a control character in its image data', imageEvent(`${'A'.repeat(5_000)}\t${'A'.repeat(5_000)}`)],
    ['JSON cut short after its image data', imageEvent('A'.repeat(10_000)).slice(0, -3)],
  ])('fails with upstream_error on an event with %s, as JSON.parse would', async (_what, line) => {
    const failure = await errorRejectedBy(() => streamed(line), GatewayError);

    expect(failure.code).toBe(ErrorCode.UpstreamError);
  });

  it('calls a Gemini 3 model on its route’s location (global) with the bearer token, one candidate per call', async () => {
    const result = await sut.generateImages(
      pro,
      { prompt: 'a kingfisher', n: 2, size: '1536x1024', imageSize: '2K', outputFormat: 'png' },
      new AbortController().signal,
    );

    expect(vertex.generationRequests.map((request) => request.path)).toEqual([
      '/v1/projects/p/locations/global/publishers/google/models/gemini-3-pro-image:generateContent',
      '/v1/projects/p/locations/global/publishers/google/models/gemini-3-pro-image:generateContent',
    ]);
    for (const request of vertex.generationRequests) {
      expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(request.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: 'a kingfisher' }] }],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '3:2', imageSize: '2K' } },
      });
    }
    expect(result.size).toBe('2528x1696');
    expect(await sharp(result.images[1]!.bytes()).metadata()).toMatchObject({ width: 2528, height: 1696 });
    expect(result.usage).toMatchObject({ outputImageTokens: 2 * 1120, images: 2 });
  });
});
