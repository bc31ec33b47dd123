import sharp from 'sharp';
import { IMAGE_QUALITIES, IMAGE_SIZE_TIERS } from '../../src/config/models.catalogue.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { FakeHttpServer } from '../fakes/fake-http.server.js';
import { FakeOpenAiServer } from '../fakes/fake-openai.server.js';
import { FakeGeminiApiServer, FakeVertexServer } from '../fakes/fake-vertex.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import {
  AZURE_KEY,
  GEMINI_API_KEY,
  OPENAI_KEY,
  VERTEX_LOCATION,
  VERTEX_PROJECT,
  VERTEX_TOKEN,
} from '../utils/upstream-apps.js';

/** A model as `GET /v1/models/{id}` describes it: what a client builds its form from. */
interface ListedModel {
  id: string;
  endpoints: Array<'images' | 'chat'>;
  available: boolean;
  capabilities: {
    sizes: string[];
    custom_sizes: {
      multiple_of: number;
      min_pixels: number;
      max_pixels: number;
      max_edge: number;
      max_aspect_ratio: number;
    } | null;
    qualities: string[];
    backgrounds: string[];
    output_formats: string[];
    output_compression: boolean;
    moderation: boolean;
    max_n: number;
    max_prompt_chars: number;
    max_output_tokens?: number;
    image_sizes: string[];
    streaming: boolean;
    max_input_images: number;
    max_input_image_bytes: number;
    edits: boolean;
    mask: boolean;
    input_fidelity: boolean;
  };
}

/** One request a client could build from a model's description, and what it tries. */
interface DerivedRequest {
  what: string;
  path: '/v1/images/generations' | '/v1/images/edits' | '/v1/chat/completions';
  body: Record<string, unknown>;
  /** For edits: the number of images to upload, and whether to add a mask. */
  images?: number;
  mask?: boolean;
}

const EDGE = 64;

/** Every value the description allows, each in a request of its own (the others left to defaults). */
function allowedRequests(model: ListedModel): DerivedRequest[] {
  const c = model.capabilities;
  const requests: DerivedRequest[] = [];
  if (model.endpoints.includes('images')) {
    const image = (what: string, fields: Record<string, unknown>): DerivedRequest => ({
      what,
      path: '/v1/images/generations',
      body: { model: model.id, prompt: 'a lighthouse at dusk', response_format: 'b64_json', ...fields },
    });
    for (const size of c.sizes) requests.push(image(`size ${size}`, { size }));
    const custom = customSize(model);
    if (custom) requests.push(image(`custom size ${custom}`, { size: custom }));
    for (const quality of c.qualities) requests.push(image(`quality ${quality}`, { quality }));
    for (const format of c.output_formats) {
      requests.push(
        image(`output_format ${format}`, {
          output_format: format,
          ...(c.output_compression && format !== 'png' ? { output_compression: 60 } : {}),
        }),
      );
    }
    const alphaFormat = c.output_formats.find((format) => format !== 'jpeg');
    for (const background of c.backgrounds) {
      requests.push(
        image(`background ${background}`, {
          background,
          ...(background === 'transparent' ? { output_format: alphaFormat } : {}),
        }),
      );
    }
    if (c.moderation) requests.push(image('moderation low', { moderation: 'low' }));
    for (const tier of c.image_sizes) requests.push(image(`image_size ${tier}`, { image_size: tier }));
    requests.push(image(`n ${c.max_n}`, { n: c.max_n }));
    requests.push(image(`a prompt of ${c.max_prompt_chars} characters`, { prompt: 'p'.repeat(c.max_prompt_chars) }));
    if (c.streaming) {
      requests.push(image('stream with partial images', { stream: true, partial_images: 1 }));
    }
  }
  if (c.edits) {
    const edit = (what: string, fields: Record<string, unknown>, images = 1, mask = false): DerivedRequest => ({
      what: `edit: ${what}`,
      path: '/v1/images/edits',
      body: { model: model.id, prompt: 'add a boat', response_format: 'b64_json', ...fields },
      images,
      mask,
    });
    requests.push(edit(`${c.max_input_images} images`, {}, c.max_input_images));
    if (c.mask) requests.push(edit('a mask', {}, 1, true));
    if (c.input_fidelity) requests.push(edit('input_fidelity high', { input_fidelity: 'high' }));
    if (c.streaming) requests.push(edit('stream', { stream: true, partial_images: 1 }));
  }
  if (model.endpoints.includes('chat')) {
    const chat = (what: string, fields: Record<string, unknown>): DerivedRequest => ({
      what: `chat: ${what}`,
      path: '/v1/chat/completions',
      body: { model: model.id, messages: [{ role: 'user', content: 'a lighthouse at dusk' }], ...fields },
    });
    requests.push(chat('defaults', {}));
    requests.push(chat(`max_tokens ${c.max_output_tokens ?? 32768}`, { max_tokens: c.max_output_tokens ?? 32768 }));
    for (const tier of c.image_sizes) {
      requests.push(chat(`image_config.image_size ${tier}`, { image_config: { image_size: tier } }));
    }
  }
  return requests;
}

/** One value just outside what the description allows, per field; each must be refused (400). */
function refusedRequests(model: ListedModel): Array<DerivedRequest & { param: string }> {
  const c = model.capabilities;
  const requests: Array<DerivedRequest & { param: string }> = [];
  const base = { model: model.id, prompt: 'a lighthouse at dusk', response_format: 'b64_json' };
  if (model.endpoints.includes('images')) {
    const image = (param: string, fields: Record<string, unknown>) =>
      requests.push({
        what: `${param} ${JSON.stringify(fields)}`,
        param,
        path: '/v1/images/generations',
        body: { ...base, ...fields },
      });
    const quality = IMAGE_QUALITIES.find((value) => !c.qualities.includes(value));
    if (quality) image('quality', { quality });
    const tier = IMAGE_SIZE_TIERS.find((value) => !c.image_sizes.includes(value));
    if (tier) image('image_size', { image_size: tier });
    const beyond = (c.custom_sizes?.max_edge ?? 4096) + 16;
    image('size', { size: `${beyond}x${beyond}` });
    image('n', { n: c.max_n + 1 });
    image('prompt', { prompt: 'p'.repeat(c.max_prompt_chars + 1) });
    if (!c.backgrounds.includes('transparent')) image('background', { background: 'transparent' });
    if (!c.streaming) image('stream', { stream: true });
  }
  if (model.endpoints.includes('chat')) {
    requests.push({
      what: `chat max_tokens ${(c.max_output_tokens ?? 32768) + 1}`,
      param: 'max_tokens',
      path: '/v1/chat/completions',
      body: {
        model: model.id,
        messages: [{ role: 'user', content: 'a lighthouse' }],
        max_tokens: (c.max_output_tokens ?? 32768) + 1,
      },
    });
  }
  if (c.edits) {
    requests.push({
      what: `edit with ${c.max_input_images + 1} images`,
      param: `image[${c.max_input_images}]`,
      path: '/v1/images/edits',
      body: base,
      images: c.max_input_images + 1,
    });
    if (!c.mask) {
      requests.push({
        what: 'edit with a mask',
        param: 'mask',
        path: '/v1/images/edits',
        body: base,
        images: 1,
        mask: true,
      });
    }
  }
  return requests;
}

/** The smallest square the custom size rules allow that is not a listed size. */
function customSize({ capabilities: { custom_sizes: rules, sizes } }: ListedModel): string | undefined {
  if (!rules) return undefined;
  let side = Math.ceil(Math.sqrt(rules.min_pixels) / rules.multiple_of) * rules.multiple_of;
  while (sizes.includes(`${side}x${side}`)) side += rules.multiple_of;
  return side <= rules.max_edge && side * side <= rules.max_pixels ? `${side}x${side}` : undefined;
}

describe('GET /v1/models/{id}: the capabilities are what validation enforces, for every catalogue model', () => {
  let fakes: FakeHttpServer[];
  let sut: TestApp;
  let key: string;
  let photo: Buffer;
  let mask: Buffer;

  beforeAll(async () => {
    const azure = new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5', 'gpt-image-2'] });
    const openai = new FakeOpenAiServer({
      apiKey: OPENAI_KEY,
      models: ['gpt-image-2', 'gpt-image-2.6-sunburst', 'gpt-image-2.6-flare'],
    });
    const vertex = new FakeVertexServer({
      accessToken: VERTEX_TOKEN,
      project: VERTEX_PROJECT,
      location: VERTEX_LOCATION,
      models: ['gemini-2.5-flash-image', 'gemini-3-pro-image', 'gemini-3.1-flash-lite-image'],
    });
    const gemini = new FakeGeminiApiServer({
      apiKey: GEMINI_API_KEY,
      models: ['gemini-3-pro-image', 'gemini-3.1-flash-lite-image', 'gemini-nano-banana-2.1'],
    });
    fakes = await Promise.all([azure.start(), openai.start(), vertex.start(), gemini.start()]);
    sut = await createTestApp({
      env: {
        AZURE_OPENAI_ENDPOINT: azure.baseUrl,
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        OPENAI_BASE_URL: `${openai.baseUrl}/v1`,
        OPENAI_API_KEY: OPENAI_KEY,
        VERTEX_PROJECT,
        VERTEX_LOCATION,
        VERTEX_BASE_URL: vertex.baseUrl,
        VERTEX_ACCESS_TOKEN: VERTEX_TOKEN,
        GEMINI_BASE_URL: `${gemini.baseUrl}/v1beta`,
        GEMINI_API_KEY,
        RATE_LIMIT_RPM: '100000',
      },
    });
    ({ key } = await createApiKey(sut));
    const square = (alpha: number) =>
      sharp({ create: { width: EDGE, height: EDGE, channels: 4, background: { r: 20, g: 90, b: 160, alpha } } })
        .png()
        .toBuffer();
    [photo, mask] = await Promise.all([square(1), square(0)]);
  });

  afterAll(async () => {
    await sut.close();
    await Promise.all(fakes.map((fake) => fake.stop()));
  });

  beforeEach(() => fakes.forEach((fake) => fake.reset()));
  afterEach(() => fakes.forEach((fake) => expect(fake.unexpected).toEqual([])));

  /** Sends a derived request as a client would: JSON, or the multipart form the SDKs send for edits. */
  async function send(request: DerivedRequest): Promise<Response> {
    if (request.path !== '/v1/images/edits') return sut.http(request.path, { key, body: request.body });
    const form = new FormData();
    for (const [name, value] of Object.entries(request.body)) form.append(name, String(value));
    const images = request.images ?? 1;
    for (let i = 0; i < images; i++) {
      form.append(images === 1 ? 'image' : 'image[]', new Blob([photo], { type: 'image/png' }), `photo-${i}.png`);
    }
    if (request.mask) form.append('mask', new Blob([mask], { type: 'image/png' }), 'mask.png');
    return fetch(`${sut.baseUrl}${request.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
  }

  async function listed(): Promise<ListedModel[]> {
    const { data } = (await (await sut.http('/v1/models', { key })).json()) as { data: ListedModel[] };
    return Promise.all(
      data.map(
        async ({ id }) =>
          (await (await sut.http(`/v1/models/${encodeURIComponent(id)}`, { key })).json()) as ListedModel,
      ),
    );
  }

  it('lists every catalogue model as available here, each with its capabilities', async () => {
    const models = await listed();

    expect(models.length).toBeGreaterThanOrEqual(10);
    expect(models.filter((model) => !model.available).map((model) => model.id)).toEqual([]);
  });

  it('answers 200 to every request derived from a model’s description', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const model of await listed()) {
      for (const request of allowedRequests(model)) {
        const response = await send(request);
        const text = await response.text();
        sent++;
        if (
          response.status !== 200 ||
          (request.body.stream === true && !text.includes('completed') && !text.includes('[DONE]'))
        ) {
          failures.push(`${model.id} ${request.what}: ${response.status} ${text.slice(0, 300)}`);
        }
      }
    }

    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(200);
  });

  it('refuses (400, naming the field) a value just outside a model’s description, with no upstream call', async () => {
    const failures: string[] = [];
    for (const model of await listed()) {
      for (const request of refusedRequests(model)) {
        const response = await send(request);
        const body = (await response.json()) as { error?: { param?: string | null } };
        if (response.status !== 400 || body.error?.param !== request.param) {
          failures.push(`${model.id} ${request.what}: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
        }
      }
    }

    expect(failures).toEqual([]);
    for (const fake of fakes) expect(fake.requests).toEqual([]);
  });
});
