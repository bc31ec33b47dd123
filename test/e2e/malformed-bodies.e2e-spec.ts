import fc from 'fast-check';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { FakeVertexServer } from '../fakes/fake-vertex.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY, VERTEX_LOCATION, VERTEX_PROJECT, VERTEX_TOKEN } from '../utils/upstream-apps.js';

/**
 * Property: whatever malformed body a client sends to either endpoint, Easel answers a 4xx in
 * OpenAI's error shape (SPEC §4), never a 5xx or a 2xx, and never calls an upstream. The models
 * are real upstream models (Azure for images, Vertex for chat) pointed at fakes, so a body that
 * wrongly passed validation would show up as a request on a fake.
 *
 * Each endpoint gets 200 runs with a fixed seed (override with FC_SEED=<n> to explore further);
 * on failure fast-check prints the seed, the path and the shrunk body.
 */

const IMAGES = '/v1/images/generations';
const CHAT = '/v1/chat/completions';
const IMAGE_MODEL = 'azure/openai/gpt-image-1';
const CHAT_MODEL = 'vertex/google/gemini-2.5-flash-image-preview';
const NUM_RUNS = 200;
const SEED = process.env.FC_SEED === undefined ? 20_250_601 : Number(process.env.FC_SEED);

/** Every catalogue model id; completed from GET /v1/models at start. A body naming one of these as its model is not "surely invalid". */
const KNOWN_MODELS = new Set<string>([
  'local/easel/sketch',
  'azure/openai/gpt-image-1',
  'azure/openai/gpt-image-1.5',
  'vertex/google/gemini-2.5-flash-image-preview',
  'vertex/google/gemini-2.5-flash-image',
]);

const IMAGE_FIELDS = [
  'model', 'prompt', 'n', 'size', 'quality', 'response_format', 'background', 'output_format', 'output_compression', 'moderation', 'user', 'stream', 'partial_images',
];
const CHAT_FIELDS = [
  'model', 'messages', 'modalities', 'image_config', 'stream', 'stream_options', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'n', 'user',
];
/** Keys that trip up code treating a body as a plain object (prototype pollution, inherited names). */
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];

const AZURE_SIZES = ['auto', '1024x1024', '1536x1024', '1024x1536'];
const QUALITIES = ['auto', 'high', 'medium', 'low'];
const RESPONSE_FORMATS = ['url', 'b64_json'];
const BACKGROUNDS = ['auto', 'transparent', 'opaque'];
const AZURE_OUTPUT_FORMATS = ['png', 'jpeg'];
const MODERATIONS = ['auto', 'low'];
const ROLES = ['system', 'developer', 'user', 'assistant'];
const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'];

/** A real 1x1 PNG. */
const PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const VALID_IMAGES = { model: IMAGE_MODEL, prompt: 'A watercolour otter reading a newspaper' };
const USER_MESSAGE = { role: 'user', content: 'A lighthouse at dusk' };
const VALID_CHAT = { model: CHAT_MODEL, messages: [USER_MESSAGE] };
const TEXT_PART = { type: 'text', text: 'Make it blue' };
const IMAGE_PART = { type: 'image_url', image_url: { url: PNG_DATA_URL } };

/** One generated case: what kind of malformation, and the exact bytes sent as the body. */
interface MalformedBody {
  kind: string;
  body: string;
}

// ------------------------------------------------------------------------------------------------
// Value predicates (on the value as the server sees it, after a JSON round trip)

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const roundTrip = (value: unknown): Json => JSON.parse(JSON.stringify(value) ?? 'null') as Json;
const isPlainObject = (value: unknown): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isIntIn = (value: Json, min: number, max: number) => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
const isNumberIn = (value: Json, min: number, max: number) => typeof value === 'number' && value >= min && value <= max;
const isOneOf = (value: Json, allowed: readonly string[]) => typeof value === 'string' && allowed.includes(value);
const isKnownModel = (value: Json) => typeof value === 'string' && KNOWN_MODELS.has(value);
/** Optional fields may be absent or null. */
const optional = (valid: (value: Json) => boolean) => (value: Json) => value === null || valid(value);

/** Whether Easel may accept `url` as an input image (a base64 data URL of PNG/JPEG/WebP whose bytes say so): the generators keep only URLs it must refuse. */
function mayBeAcceptedImageUrl(url: string): boolean {
  const match = /^data:(image\/(?:png|jpeg|webp));base64,([A-Za-z0-9+/]+={0,2})$/i.exec(url.replace(/\s+/g, ''));
  if (!match) return false;
  const head = Buffer.from(match[2]!.slice(0, 24), 'base64');
  const mime = match[1]!.toLowerCase();
  if (mime === 'image/png') return head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  if (mime === 'image/jpeg') return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  return head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP';
}

// ------------------------------------------------------------------------------------------------
// Building blocks

const json: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const numbers = fc.oneof(fc.integer(), fc.integer({ min: -50, max: 50 }), finiteDouble, fc.double({ min: -5, max: 40, noNaN: true }));
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 8 }));
/** Candidates for a field's value: every JSON type, numbers near and far from the ranges, numeric strings. */
const anything: fc.Arbitrary<unknown> = fc.oneof(json, numbers, numbers.map(String), fc.boolean(), anyString, fc.constant(null), fc.constant(''));
const notAnObject: fc.Arbitrary<Json> = fc.oneof(numbers, anyString, fc.boolean(), fc.constant(null), fc.array(json, { maxLength: 3 }));
/** A key that is not one of `known`. */
const unknownKey = (known: readonly string[]) =>
  fc
    .oneof(fc.string({ minLength: 1 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom(...PROTO_KEYS), fc.constantFrom('Model', 'prompts', 'style', 'response-format', 'stream_option', ''))
    .filter((key) => !known.includes(key));

/** The candidates' values as they go over the wire, keeping only those `isValid` rejects. */
const invalidValue = (candidates: fc.Arbitrary<unknown>, isValid: (value: Json) => boolean): fc.Arbitrary<Json> =>
  candidates.map(roundTrip).filter((value) => !isValid(value));

/** `base` with `field` set to `value` (an own property even for `__proto__`), as JSON text. */
const withField = (base: Record<string, unknown>, field: string, value: unknown): string => JSON.stringify({ ...base, [field]: value });
const without = (base: Record<string, unknown>, field: string): Record<string, unknown> => Object.fromEntries(Object.entries(base).filter(([key]) => key !== field));

/** A valid-looking `base` with exactly one field replaced by one of `values`. */
const replaced = (base: Record<string, unknown>, field: string, values: fc.Arbitrary<unknown>, kind = field): fc.Arbitrary<MalformedBody> =>
  values.map((value) => ({ kind: `${kind} replaced`, body: withField(base, field, value) }));

const asBody = (kind: string) => (value: unknown): MalformedBody => ({ kind, body: JSON.stringify(value) });

// ------------------------------------------------------------------------------------------------
// Generic malformations, for both endpoints

/** JSON that is not an object at all. */
const notObjectBodies: fc.Arbitrary<MalformedBody> = fc.oneof(notAnObject, json.filter((value) => !isPlainObject(value))).map(asBody('a JSON value that is not an object'));

/** Objects with random keys (field names, prototype names, anything) and values, that do not name a real model. */
const randomObjectBodies = (fields: readonly string[]): fc.Arbitrary<MalformedBody> =>
  fc
    .oneof(
      fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string(), fc.constantFrom(...PROTO_KEYS)), anything, { maxKeys: 8 }),
      fc.object({ maxDepth: 2, maxKeys: 6 }),
    )
    .map(roundTrip)
    .filter((value) => isPlainObject(value) && !isKnownModel(value.model ?? null))
    .map(asBody('an object with random keys and values'));

/** Text that is not JSON, sent as application/json. */
const notJsonBodies = (valid: Record<string, unknown>): fc.Arbitrary<MalformedBody> => {
  const text = JSON.stringify(valid);
  return fc
    .oneof(
      anyString,
      fc.constantFrom('', ' ', '\n', 'undefined', 'NaN', "{'model': 'x'}", '{model: "x"}', '{"a":1,}', '[1,2', 'model=x&prompt=y', '<xml/>', '{}{}', '{"n": NaN}', '{"n": 01}'),
      fc.integer({ min: 1, max: text.length - 1 }).map((end) => text.slice(0, end)),
      fc.tuple(fc.integer({ min: 0, max: text.length }), anyString.filter((s) => s.length > 0)).map(([at, junk]) => text.slice(0, at) + junk + text.slice(at)),
      anyString.map((junk) => `${text}${junk.trim() === '' ? 'x' : junk}`),
    )
    .filter((body) => body.charCodeAt(0) !== 0xfeff && !parses(body))
    .map((body) => ({ kind: 'text that is not JSON', body }));
};

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Model values that are not a catalogue model (or not served on this endpoint, when `alsoInvalid`). */
const badModel = (alsoInvalid: (value: Json) => boolean = () => false) =>
  invalidValue(
    fc.oneof(
      anything,
      fc.constantFrom(...KNOWN_MODELS).map((id) => id.toUpperCase()),
      fc.constantFrom(...KNOWN_MODELS).map((id) => `${id}-x`),
      fc.constantFrom(...KNOWN_MODELS).map((id) => id.replaceAll('/', ':')),
      fc.constantFrom('gpt-image-1', 'dall-e-3', 'm'.repeat(201)),
      fc.constantFrom(...KNOWN_MODELS),
    ),
    (value) => isKnownModel(value) && !alsoInvalid(value),
  );

// ------------------------------------------------------------------------------------------------
// POST /v1/images/generations: a valid request with exactly one field wrong

const tooLongAscii = (min: number) => fc.integer({ min, max: min + 64 }).map((length) => 'x'.repeat(length));

const imageFieldReplaced: fc.Arbitrary<MalformedBody> = fc.oneof(
  replaced(VALID_IMAGES, 'model', badModel()),
  replaced(VALID_IMAGES, 'prompt', fc.oneof(invalidValue(anything, (value) => typeof value === 'string' && value.length > 0), tooLongAscii(32_001))),
  replaced(VALID_IMAGES, 'n', invalidValue(anything, optional((value) => isIntIn(value, 1, 10)))),
  replaced(
    VALID_IMAGES,
    'size',
    invalidValue(
      fc.oneof(anything, fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 99_999 })).map(([w, h]) => `${w}x${h}`), fc.constantFrom('AUTO', '1024X1024', '1024x1024 ', 'large')),
      optional((value) => isOneOf(value, AZURE_SIZES)),
    ),
  ),
  replaced(VALID_IMAGES, 'quality', invalidValue(fc.oneof(anything, fc.constantFrom('ultra', 'hd', 'standard', 'HIGH')), optional((value) => isOneOf(value, QUALITIES)))),
  replaced(VALID_IMAGES, 'response_format', invalidValue(fc.oneof(anything, fc.constantFrom('png', 'URL', 'b64')), optional((value) => isOneOf(value, RESPONSE_FORMATS)))),
  replaced(VALID_IMAGES, 'background', invalidValue(fc.oneof(anything, fc.constantFrom('none', 'white', 'Transparent')), optional((value) => isOneOf(value, BACKGROUNDS)))),
  replaced(VALID_IMAGES, 'output_format', invalidValue(fc.oneof(anything, fc.constantFrom('gif', 'webp', 'jpg', 'PNG')), optional((value) => isOneOf(value, AZURE_OUTPUT_FORMATS)))),
  // png (the default) takes no compression at all; jpeg takes an integer 0..100.
  replaced(VALID_IMAGES, 'output_compression', invalidValue(anything, (value) => value === null), 'output_compression (png)'),
  replaced(
    { ...VALID_IMAGES, output_format: 'jpeg' },
    'output_compression',
    invalidValue(anything, optional((value) => isIntIn(value, 0, 100))),
    'output_compression (jpeg)',
  ),
  replaced(VALID_IMAGES, 'moderation', invalidValue(fc.oneof(anything, fc.constantFrom('high', 'none', 'LOW')), optional((value) => isOneOf(value, MODERATIONS)))),
  // Any string of 1..256 characters is a valid user (counting code points or code units).
  replaced(VALID_IMAGES, 'user', fc.oneof(invalidValue(anything, optional((value) => typeof value === 'string' && value.length > 0 && value.length <= 512)), tooLongAscii(257))),
  replaced(VALID_IMAGES, 'stream', invalidValue(anything, optional((value) => typeof value === 'boolean'))),
  // Without stream, partial_images is refused whatever it is; with stream it is an integer 0..3.
  replaced(VALID_IMAGES, 'partial_images', invalidValue(anything, (value) => value === null), 'partial_images (no stream)'),
  replaced(
    { ...VALID_IMAGES, stream: true },
    'partial_images',
    invalidValue(anything, optional((value) => isIntIn(value, 0, 3))),
    'partial_images (stream)',
  ),
  fc.tuple(unknownKey(IMAGE_FIELDS), json).map(([key, value]) => ({ kind: 'an unknown field', body: withField(VALID_IMAGES, key, value) })),
);

const imageBodies: fc.Arbitrary<MalformedBody> = fc.oneof(
  { arbitrary: notObjectBodies, weight: 1 },
  { arbitrary: randomObjectBodies(IMAGE_FIELDS), weight: 1 },
  { arbitrary: notJsonBodies(VALID_IMAGES), weight: 1 },
  { arbitrary: imageFieldReplaced, weight: 4 },
);

// ------------------------------------------------------------------------------------------------
// POST /v1/chat/completions: a valid request with exactly one field wrong

const base64Of = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const supportedMime = fc.constantFrom('image/png', 'image/jpeg', 'image/webp');

/** Image URLs Easel must refuse: remote and other schemes, data URLs of other types, of other bytes, or not base64. */
const badImageUrl: fc.Arbitrary<string> = fc
  .oneof(
    fc.webUrl(),
    fc.constantFrom(
      '',
      'https://example.com/cat.png',
      'http://169.254.169.254/latest/meta-data/',
      'http://localhost:3000/v1/models',
      'ftp://example.com/cat.png',
      'file:///etc/passwd',
      '//example.com/cat.png',
      '/cat.png',
      'javascript:alert(1)',
      'data:',
      'data:image/png;base64,',
      'data:image/png,iVBORw0KGgo',
    ),
    anyString,
    fc
      .tuple(fc.constantFrom('text/plain', 'image/gif', 'image/svg+xml', 'image/bmp', 'application/octet-stream', 'image/png;charset=utf-8', ''), fc.uint8Array({ minLength: 1, maxLength: 48 }))
      .map(([mime, bytes]) => `data:${mime};base64,${base64Of(bytes)}`),
    fc.tuple(supportedMime, fc.uint8Array({ minLength: 1, maxLength: 48 })).map(([mime, bytes]) => `data:${mime};base64,${base64Of(bytes)}`),
    fc.tuple(supportedMime, anyString).map(([mime, text]) => `data:${mime};base64,${text}`),
    fc.tuple(supportedMime, anyString).map(([mime, text]) => `data:${mime},${text}`),
  )
  .filter((url) => !mayBeAcceptedImageUrl(url));

/** A content part that is wrong in one way. */
const badPart: fc.Arbitrary<unknown> = fc.oneof(
  notAnObject,
  invalidValue(fc.oneof(anything, fc.constantFrom('image', 'input_audio', 'input_image', 'TEXT', 'file')), (value) => value === 'text' || value === 'image_url').map((type) => ({ type, text: 'hi' })),
  fc.constant({ type: 'text' }),
  invalidValue(anything, (value) => typeof value === 'string' && value.length > 0).map((text) => ({ type: 'text', text })),
  fc.tuple(unknownKey(['type', 'text']), json).map(([key, value]) => ({ ...TEXT_PART, [key]: value })),
  fc.constant({ type: 'image_url' }),
  invalidValue(anything, isPlainObject).map((imageUrl) => ({ type: 'image_url', image_url: imageUrl })),
  badImageUrl.map((url) => ({ type: 'image_url', image_url: { url } })),
  invalidValue(anything, (value) => isPlainObject(value) && typeof value.url === 'string').map((url) => ({ type: 'image_url', image_url: { url } })),
  invalidValue(fc.oneof(anything, fc.constantFrom('medium', 'HIGH', 'original')), (value) => isOneOf(value, ['auto', 'low', 'high'])).map((detail) => ({
    type: 'image_url',
    image_url: { url: PNG_DATA_URL, detail },
  })),
  fc.tuple(unknownKey(['url', 'detail']), json).map(([key, value]) => ({ type: 'image_url', image_url: { url: PNG_DATA_URL, [key]: value } })),
  fc.tuple(unknownKey(['type', 'image_url']), json).map(([key, value]) => ({ ...IMAGE_PART, [key]: value })),
);

const goodParts = fc.array(fc.constantFrom<unknown>(TEXT_PART, IMAGE_PART), { maxLength: 2 });

const badContent: fc.Arbitrary<unknown> = fc.oneof(
  fc.oneof(numbers, fc.boolean(), fc.constant(null), json.filter(isPlainObject)),
  fc.constant(''),
  fc.constant([]),
  fc.tuple(goodParts, badPart, goodParts).map(([before, bad, after]) => [...before, bad, ...after]),
  // More input images than the model takes (3).
  fc.integer({ min: 4, max: 6 }).map((count) => [TEXT_PART, ...Array.from({ length: count }, () => IMAGE_PART)]),
);

/** A message that is wrong in one way, for use next to valid ones. */
const badMessage: fc.Arbitrary<unknown> = fc.oneof(
  notAnObject,
  fc.constant({ content: 'hi' }),
  fc.constant({ role: 'user' }),
  invalidValue(fc.oneof(anything, fc.constantFrom('User', 'tool', 'function', 'robot', 'model')), (value) => isOneOf(value, ROLES)).map((role) => ({ role, content: 'hi' })),
  badContent.map((content) => ({ role: 'user', content })),
  invalidValue(anything, optional((value) => typeof value === 'string' && value.length > 0 && value.length <= 128)).map((name) => ({ ...USER_MESSAGE, name })),
  fc.tuple(unknownKey(['role', 'content', 'name']), json).map(([key, value]) => ({ ...USER_MESSAGE, [key]: value })),
  // Only user messages may carry images.
  fc.constantFrom('assistant', 'system', 'developer').map((role) => ({ role, content: [IMAGE_PART] })),
);

const badMessages: fc.Arbitrary<unknown> = fc.oneof(
  invalidValue(anything, Array.isArray),
  fc.constant([]),
  fc.constant([[USER_MESSAGE]]),
  fc.constant([[USER_MESSAGE], USER_MESSAGE]),
  fc.tuple(fc.array(fc.constant(USER_MESSAGE), { maxLength: 2 }), badMessage, fc.array(fc.constant(USER_MESSAGE), { maxLength: 2 })).map(([before, bad, after]) => [...before, bad, ...after]),
  // No user message at all.
  fc.array(
    fc.constantFrom({ role: 'system', content: 'You draw posters.' }, { role: 'developer', content: 'Be brief.' }, { role: 'assistant', content: 'Here you go.' }),
    { minLength: 1, maxLength: 3 },
  ),
  // More than 100 messages.
  fc.integer({ min: 101, max: 110 }).map((count) => Array.from({ length: count }, () => USER_MESSAGE)),
);

const onlyKeys = (value: Record<string, Json>, allowed: readonly string[]) => Object.keys(value).every((key) => allowed.includes(key));

const chatFieldReplaced: fc.Arbitrary<MalformedBody> = fc.oneof(
  // An images-only model is refused on chat too.
  replaced(VALID_CHAT, 'model', badModel((value) => typeof value === 'string' && value.startsWith('azure/'))),
  replaced(VALID_CHAT, 'messages', badMessages),
  fc
    .oneof(
      invalidValue(fc.oneof(anything, fc.constantFrom('User', 'tool', 'function', 'model', ...ROLES)), (value) => value === 'user').map((role) => ({ role, content: USER_MESSAGE.content })),
      fc.constant({ content: USER_MESSAGE.content }),
    )
    .map((message) => ({ kind: 'messages[0].role replaced', body: JSON.stringify({ ...VALID_CHAT, messages: [message] }) })),
  badContent.map((content) => ({ kind: 'messages[0].content replaced', body: JSON.stringify({ ...VALID_CHAT, messages: [{ role: 'user', content }] }) })),
  replaced(
    VALID_CHAT,
    'modalities',
    invalidValue(
      fc.oneof(anything, fc.array(fc.oneof(fc.constantFrom('image', 'text', 'audio', 'IMAGE', 'Text', ''), json), { maxLength: 4 })),
      optional((value) => Array.isArray(value) && value.length > 0 && value.every((item) => item === 'image' || item === 'text')),
    ),
  ),
  replaced(
    VALID_CHAT,
    'image_config',
    invalidValue(
      fc.oneof(
        anything,
        invalidValue(fc.oneof(anything, fc.constantFrom('7:3', '16x9', '1:1 ', 'square')), optional((value) => isOneOf(value, ASPECT_RATIOS))).map((ratio) => ({ aspect_ratio: ratio })),
        fc.tuple(unknownKey(['aspect_ratio']), json).map(([key, value]) => ({ aspect_ratio: '16:9', [key]: value })),
      ),
      optional((value) => isPlainObject(value) && onlyKeys(value, ['aspect_ratio']) && optional((ratio) => isOneOf(ratio, ASPECT_RATIOS))(value.aspect_ratio ?? null)),
    ),
  ),
  replaced(VALID_CHAT, 'temperature', invalidValue(anything, optional((value) => isNumberIn(value, 0, 2)))),
  replaced(VALID_CHAT, 'top_p', invalidValue(anything, optional((value) => isNumberIn(value, 0, 1)))),
  replaced(VALID_CHAT, 'n', invalidValue(anything, optional((value) => isIntIn(value, 1, 8)))),
  replaced(VALID_CHAT, 'max_tokens', invalidValue(fc.oneof(anything, fc.constantFrom(0, 32_769, 1e9)), optional((value) => isIntIn(value, 1, 32_768)))),
  replaced(VALID_CHAT, 'stream', invalidValue(anything, optional((value) => typeof value === 'boolean'))),
  replaced(
    VALID_CHAT,
    'stream_options',
    invalidValue(
      fc.oneof(
        anything,
        anything.map((includeUsage) => ({ include_usage: includeUsage })),
        fc.tuple(unknownKey(['include_usage']), json).map(([key, value]) => ({ include_usage: true, [key]: value })),
      ),
      optional((value) => isPlainObject(value) && onlyKeys(value, ['include_usage']) && optional((flag) => typeof flag === 'boolean')(value.include_usage ?? null)),
    ),
  ),
  fc.tuple(unknownKey(CHAT_FIELDS), json).map(([key, value]) => ({ kind: 'an unknown field', body: withField(VALID_CHAT, key, value) })),
);

const chatBodies: fc.Arbitrary<MalformedBody> = fc.oneof(
  { arbitrary: notObjectBodies, weight: 1 },
  { arbitrary: randomObjectBodies(CHAT_FIELDS), weight: 1 },
  { arbitrary: notJsonBodies(VALID_CHAT), weight: 1 },
  { arbitrary: chatFieldReplaced, weight: 4 },
);

// ------------------------------------------------------------------------------------------------

describe('malformed bodies (property-based)', () => {
  let azure: FakeAzureOpenAiServer;
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1', 'gpt-image-1.5'] }).start();
    vertex = await new FakeVertexServer({ accessToken: VERTEX_TOKEN, project: VERTEX_PROJECT, location: VERTEX_LOCATION, models: ['gemini-2.5-flash-image'] }).start();
    sut = await createTestApp({
      env: {
        AZURE_OPENAI_ENDPOINT: azure.baseUrl,
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        VERTEX_PROJECT,
        VERTEX_LOCATION,
        VERTEX_BASE_URL: vertex.baseUrl,
        VERTEX_ACCESS_TOKEN: VERTEX_TOKEN,
        // Validation, not the rate limit, must answer every one of these requests.
        RATE_LIMIT_RPM: '1000000',
      },
    });
    key = (await sut.createKey()).key;
    const models = (await (await sut.http('/v1/models', { key })).json()) as { data: Array<{ id: string }> };
    models.data.forEach(({ id }) => KNOWN_MODELS.add(id));
  });

  afterAll(async () => {
    await sut?.close();
    await azure?.stop();
    await vertex?.stop();
  });

  beforeEach(() => {
    azure.reset();
    vertex.reset();
  });

  /** Sends `body` verbatim as application/json and throws, with the whole exchange, unless Easel answered an OpenAI-shaped 4xx without calling an upstream. */
  async function expectRefused(path: string, { body }: MalformedBody): Promise<void> {
    azure.reset();
    vertex.reset();
    const response = await sut.http(path, { key, body });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    const exchange = `POST ${path} -> ${response.status} (${contentType}) ${text.slice(0, 600)}`;
    if (response.status < 400 || response.status > 499) throw new Error(`expected a 4xx, got ${exchange}`);
    if (!/^application\/json\b/.test(contentType)) throw new Error(`expected a JSON error, got ${exchange}`);
    if (!isOpenAiError(parses(text) ? JSON.parse(text) : undefined)) throw new Error(`expected exactly { error: { message, type, param, code } }, got ${exchange}`);
    const upstream = [...azure.requests, ...vertex.requests].map((request) => `${request.method} ${request.path}`);
    if (upstream.length > 0) throw new Error(`an upstream was called (${upstream.join(', ')}); Easel answered ${exchange}`);
  }

  it(`answers ${NUM_RUNS} malformed bodies on ${IMAGES} with an OpenAI-shaped 4xx and no upstream call`, async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(imageBodies, async (malformed) => {
        sent++;
        await expectRefused(IMAGES, malformed);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(sent).toBeGreaterThanOrEqual(NUM_RUNS);
  }, 120_000);

  it(`answers ${NUM_RUNS} malformed bodies on ${CHAT} with an OpenAI-shaped 4xx and no upstream call`, async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(chatBodies, async (malformed) => {
        sent++;
        await expectRefused(CHAT, malformed);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(sent).toBeGreaterThanOrEqual(NUM_RUNS);
  }, 120_000);

  it('reaches the fakes with the valid requests the malformed ones were derived from', async () => {
    const images = await sut.http(IMAGES, { key, body: { ...VALID_IMAGES, response_format: 'b64_json' } });
    expect(images.status).toBe(200);
    expect(azure.generationRequests).toHaveLength(1);

    const chat = await sut.http(CHAT, { key, body: { ...VALID_CHAT, messages: [{ role: 'user', content: [TEXT_PART, IMAGE_PART] }] } });
    expect(chat.status).toBe(200);
    expect(vertex.generationRequests).toHaveLength(1);
  });
});

function isOpenAiError(value: unknown): boolean {
  if (!isPlainObject(value) || Object.keys(value).join() !== 'error') return false;
  const error = value.error;
  if (!isPlainObject(error) || Object.keys(error).sort().join() !== 'code,message,param,type') return false;
  return (
    typeof error.message === 'string' &&
    typeof error.type === 'string' &&
    (error.param === null || typeof error.param === 'string') &&
    (error.code === null || typeof error.code === 'string')
  );
}
