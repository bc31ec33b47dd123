import { randomBytes } from 'node:crypto';
import { FakeVertexServer } from '../../../test/fakes/fake-vertex.server.js';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { RawJsonString } from '../../common/json/raw-json.js';
import { AppConfig } from '../../config/app.config.js';
import type { ChatRequest, ChatStreamEvent } from '../chat-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { VertexAdapter, type VertexTarget } from './vertex.adapter.js';
import { VertexAuth } from './vertex-auth.js';

const TOKEN = 'vertex-spec-token';
const REQUEST: ChatRequest = {
  messages: [{ role: 'user', parts: [{ type: 'text', text: 'draw an otter' }] }],
  modalities: ['text', 'image'],
  n: 1,
};

describe(`${VertexAdapter.name}.chatStream`, () => {
  let vertex: FakeVertexServer;
  let http: UpstreamHttp;
  let sut: VertexAdapter;
  let target: VertexTarget;

  beforeAll(async () => {
    vertex = await new FakeVertexServer({
      accessToken: TOKEN,
      project: 'p',
      location: 'l',
      models: ['gemini-2.5-flash-image'],
    }).start();
    const config = AppConfig.fromEnv({
      VERTEX_PROJECT: 'p',
      VERTEX_ACCESS_TOKEN: TOKEN,
      VERTEX_BASE_URL: vertex.baseUrl,
    });
    http = new UpstreamHttp(config);
    sut = new VertexAdapter(config, http, new VertexAuth(config));
    target = {
      modelUrl: `${vertex.baseUrl}/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash-image`,
    };
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await vertex.stop();
  });

  beforeEach(() => vertex.reset());

  /** Streams these `data` lines (each one event) and collects what the adapter yields. */
  async function streamed(...lines: string[]): Promise<ChatStreamEvent[]> {
    vertex.enqueue({ status: 200, stream: { events: lines.map((line) => `data: ${line}\r\n\r\n`) } });
    const events: ChatStreamEvent[] = [];
    for await (const event of sut.chatStream(target, REQUEST, new AbortController().signal)) events.push(event);
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
});
