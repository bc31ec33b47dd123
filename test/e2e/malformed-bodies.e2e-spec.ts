import fc from 'fast-check';
import { createApiKey } from '../factories/api-key.factory.js';
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
 * Then, over every route a client or an admin can send input to (/v1, /admin/keys, /admin/teams,
 * /admin/pricing, /admin/usage, /admin/usage/records): text PostgreSQL cannot store (NUL, unpaired
 * surrogates) in any string field or field name is a 400 naming that field; control characters,
 * nesting thousands deep, hostile query strings and random admin bodies never get a 5xx, and
 * every 4xx has OpenAI's shape; money fields take JSON numbers and decimal strings exactly
 * (checked against an oracle built on Number#toFixed, independent of the server's code).
 *
 * Each property gets a fixed number of runs with a fixed seed (override with FC_SEED=<n> to explore
 * further); on failure fast-check prints the seed, the path and the shrunk input.
 */

const IMAGES = '/v1/images/generations';
const CHAT = '/v1/chat/completions';
const IMAGE_MODEL = 'azure/openai/gpt-image-1.5';
const CHAT_MODEL = 'vertex/google/gemini-2.5-flash-image';
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
  'model',
  'prompt',
  'n',
  'size',
  'quality',
  'response_format',
  'background',
  'output_format',
  'output_compression',
  'moderation',
  'user',
  'stream',
  'partial_images',
];
const CHAT_FIELDS = [
  'model',
  'messages',
  'modalities',
  'image_config',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'user',
];
/** Keys that trip up code treating a body as a plain object (prototype pollution, inherited names). */
const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
];

const AZURE_SIZES = ['auto', '1024x1024', '1536x1024', '1024x1536'];
const QUALITIES = ['auto', 'high', 'medium', 'low'];
const RESPONSE_FORMATS = ['url', 'b64_json'];
const BACKGROUNDS = ['auto', 'transparent', 'opaque'];
const AZURE_OUTPUT_FORMATS = ['png', 'jpeg'];
const MODERATIONS = ['auto', 'low'];
const ROLES = ['system', 'developer', 'user', 'assistant'];
/** Values the usage queries take (group_by, split_by, format, endpoint, status), for the hostile ones to mix with. */
const GROUP_FORMATS = [
  'model',
  'api_key',
  'team',
  'day',
  'provider',
  'endpoint',
  'json',
  'csv',
  'images',
  'images.edits',
  'chat',
  'usage',
  'success',
  'error',
];
/** The usage routes' query parameters: the filters both take, then the report's and the listing's own. */
const USAGE_FILTERS = ['from', 'to', 'model', 'team', 'api_key', 'endpoint', 'status'];
const USAGE_REPORT_PARAMETERS = ['group_by', 'split_by', 'format'];
const USAGE_PAGE_PARAMETERS = ['limit', 'cursor'];
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
const isPlainObject = (value: unknown): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isIntIn = (value: Json, min: number, max: number) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
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
  if (mime === 'image/png')
    return head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  if (mime === 'image/jpeg') return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  return head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP';
}

// ------------------------------------------------------------------------------------------------
// Building blocks

const json: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const numbers = fc.oneof(
  fc.integer(),
  fc.integer({ min: -50, max: 50 }),
  finiteDouble,
  fc.double({ min: -5, max: 40, noNaN: true }),
);
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 8 }));
/** Candidates for a field's value: every JSON type, numbers near and far from the ranges, numeric strings. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  json,
  numbers,
  numbers.map(String),
  fc.boolean(),
  anyString,
  fc.constant(null),
  fc.constant(''),
);
const notAnObject: fc.Arbitrary<Json> = fc.oneof(
  numbers,
  anyString,
  fc.boolean(),
  fc.constant(null),
  fc.array(json, { maxLength: 3 }),
);
/** A key that is not one of `known`. */
const unknownKey = (known: readonly string[]) =>
  fc
    .oneof(
      fc.string({ minLength: 1 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom(...PROTO_KEYS),
      fc.constantFrom('Model', 'prompts', 'style', 'response-format', 'stream_option', ''),
    )
    .filter((key) => !known.includes(key));

/** The candidates' values as they go over the wire, keeping only those `isValid` rejects. */
const invalidValue = (candidates: fc.Arbitrary<unknown>, isValid: (value: Json) => boolean): fc.Arbitrary<Json> =>
  candidates.map(roundTrip).filter((value) => !isValid(value));

/** `base` with `field` set to `value` (an own property even for `__proto__`), as JSON text. */
const withField = (base: Record<string, unknown>, field: string, value: unknown): string =>
  JSON.stringify({ ...base, [field]: value });

/** A valid-looking `base` with exactly one field replaced by one of `values`. */
const replaced = (
  base: Record<string, unknown>,
  field: string,
  values: fc.Arbitrary<unknown>,
  kind = field,
): fc.Arbitrary<MalformedBody> =>
  values.map((value) => ({ kind: `${kind} replaced`, body: withField(base, field, value) }));

const asBody =
  (kind: string) =>
  (value: unknown): MalformedBody => ({ kind, body: JSON.stringify(value) });

// ------------------------------------------------------------------------------------------------
// Generic malformations, for both endpoints

/** JSON that is not an object at all. */
const notObjectBodies: fc.Arbitrary<MalformedBody> = fc
  .oneof(
    notAnObject,
    json.filter((value) => !isPlainObject(value)),
  )
  .map(asBody('a JSON value that is not an object'));

/** Objects with random keys (field names, prototype names, anything) and values, that do not name a real model. */
const randomObjectBodies = (fields: readonly string[]): fc.Arbitrary<MalformedBody> =>
  fc
    .oneof(
      fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string(), fc.constantFrom(...PROTO_KEYS)), anything, {
        maxKeys: 8,
      }),
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
      fc.constantFrom(
        '',
        ' ',
        '\n',
        'undefined',
        'NaN',
        "{'model': 'x'}",
        '{model: "x"}',
        '{"a":1,}',
        '[1,2',
        'model=x&prompt=y',
        '<xml/>',
        '{}{}',
        '{"n": NaN}',
        '{"n": 01}',
      ),
      fc.integer({ min: 1, max: text.length - 1 }).map((end) => text.slice(0, end)),
      fc
        .tuple(
          fc.integer({ min: 0, max: text.length }),
          anyString.filter((s) => s.length > 0),
        )
        .map(([at, junk]) => text.slice(0, at) + junk + text.slice(at)),
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
  replaced(
    VALID_IMAGES,
    'prompt',
    fc.oneof(
      invalidValue(anything, (value) => typeof value === 'string' && value.length > 0),
      tooLongAscii(32_001),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'n',
    invalidValue(
      anything,
      optional((value) => isIntIn(value, 1, 10)),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'size',
    invalidValue(
      fc.oneof(
        anything,
        fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 99_999 })).map(([w, h]) => `${w}x${h}`),
        fc.constantFrom('AUTO', '1024X1024', '1024x1024 ', 'large'),
      ),
      optional((value) => isOneOf(value, AZURE_SIZES)),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'quality',
    invalidValue(
      fc.oneof(anything, fc.constantFrom('ultra', 'hd', 'standard', 'HIGH')),
      optional((value) => isOneOf(value, QUALITIES)),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'response_format',
    invalidValue(
      fc.oneof(anything, fc.constantFrom('png', 'URL', 'b64')),
      optional((value) => isOneOf(value, RESPONSE_FORMATS)),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'background',
    invalidValue(
      fc.oneof(anything, fc.constantFrom('none', 'white', 'Transparent')),
      optional((value) => isOneOf(value, BACKGROUNDS)),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'output_format',
    invalidValue(
      fc.oneof(anything, fc.constantFrom('gif', 'webp', 'jpg', 'PNG')),
      optional((value) => isOneOf(value, AZURE_OUTPUT_FORMATS)),
    ),
  ),
  // png (the default) takes no compression at all; jpeg takes an integer 0..100.
  replaced(
    VALID_IMAGES,
    'output_compression',
    invalidValue(anything, (value) => value === null),
    'output_compression (png)',
  ),
  replaced(
    { ...VALID_IMAGES, output_format: 'jpeg' },
    'output_compression',
    invalidValue(
      anything,
      optional((value) => isIntIn(value, 0, 100)),
    ),
    'output_compression (jpeg)',
  ),
  replaced(
    VALID_IMAGES,
    'moderation',
    invalidValue(
      fc.oneof(anything, fc.constantFrom('high', 'none', 'LOW')),
      optional((value) => isOneOf(value, MODERATIONS)),
    ),
  ),
  // Any string of 1..256 characters is a valid user (counting code points or code units).
  replaced(
    VALID_IMAGES,
    'user',
    fc.oneof(
      invalidValue(
        anything,
        optional((value) => typeof value === 'string' && value.length > 0 && value.length <= 512),
      ),
      tooLongAscii(257),
    ),
  ),
  replaced(
    VALID_IMAGES,
    'stream',
    invalidValue(
      anything,
      optional((value) => typeof value === 'boolean'),
    ),
  ),
  // Without stream, partial_images is refused whatever it is; with stream it is an integer 0..3.
  replaced(
    VALID_IMAGES,
    'partial_images',
    invalidValue(anything, (value) => value === null),
    'partial_images (no stream)',
  ),
  replaced(
    { ...VALID_IMAGES, stream: true },
    'partial_images',
    invalidValue(
      anything,
      optional((value) => isIntIn(value, 0, 3)),
    ),
    'partial_images (stream)',
  ),
  fc
    .tuple(unknownKey(IMAGE_FIELDS), json)
    .map(([key, value]) => ({ kind: 'an unknown field', body: withField(VALID_IMAGES, key, value) })),
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
      .tuple(
        fc.constantFrom(
          'text/plain',
          'image/gif',
          'image/svg+xml',
          'image/bmp',
          'application/octet-stream',
          'image/png;charset=utf-8',
          '',
        ),
        fc.uint8Array({ minLength: 1, maxLength: 48 }),
      )
      .map(([mime, bytes]) => `data:${mime};base64,${base64Of(bytes)}`),
    fc
      .tuple(supportedMime, fc.uint8Array({ minLength: 1, maxLength: 48 }))
      .map(([mime, bytes]) => `data:${mime};base64,${base64Of(bytes)}`),
    fc.tuple(supportedMime, anyString).map(([mime, text]) => `data:${mime};base64,${text}`),
    fc.tuple(supportedMime, anyString).map(([mime, text]) => `data:${mime},${text}`),
  )
  .filter((url) => !mayBeAcceptedImageUrl(url));

/** A content part that is wrong in one way. */
const badPart: fc.Arbitrary<unknown> = fc.oneof(
  notAnObject,
  invalidValue(
    fc.oneof(anything, fc.constantFrom('image', 'input_audio', 'input_image', 'TEXT', 'file')),
    (value) => value === 'text' || value === 'image_url',
  ).map((type) => ({ type, text: 'hi' })),
  fc.constant({ type: 'text' }),
  invalidValue(anything, (value) => typeof value === 'string' && value.length > 0).map((text) => ({
    type: 'text',
    text,
  })),
  fc.tuple(unknownKey(['type', 'text']), json).map(([key, value]) => ({ ...TEXT_PART, [key]: value })),
  fc.constant({ type: 'image_url' }),
  invalidValue(anything, isPlainObject).map((imageUrl) => ({ type: 'image_url', image_url: imageUrl })),
  badImageUrl.map((url) => ({ type: 'image_url', image_url: { url } })),
  invalidValue(anything, (value) => isPlainObject(value) && typeof value.url === 'string').map((url) => ({
    type: 'image_url',
    image_url: { url },
  })),
  invalidValue(fc.oneof(anything, fc.constantFrom('medium', 'HIGH', 'original')), (value) =>
    isOneOf(value, ['auto', 'low', 'high']),
  ).map((detail) => ({
    type: 'image_url',
    image_url: { url: PNG_DATA_URL, detail },
  })),
  fc
    .tuple(unknownKey(['url', 'detail']), json)
    .map(([key, value]) => ({ type: 'image_url', image_url: { url: PNG_DATA_URL, [key]: value } })),
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
  invalidValue(fc.oneof(anything, fc.constantFrom('User', 'tool', 'function', 'robot', 'model')), (value) =>
    isOneOf(value, ROLES),
  ).map((role) => ({ role, content: 'hi' })),
  badContent.map((content) => ({ role: 'user', content })),
  invalidValue(
    anything,
    optional((value) => typeof value === 'string' && value.length > 0 && value.length <= 128),
  ).map((name) => ({ ...USER_MESSAGE, name })),
  fc.tuple(unknownKey(['role', 'content', 'name']), json).map(([key, value]) => ({ ...USER_MESSAGE, [key]: value })),
  // Only user messages may carry images.
  fc.constantFrom('assistant', 'system', 'developer').map((role) => ({ role, content: [IMAGE_PART] })),
);

const badMessages: fc.Arbitrary<unknown> = fc.oneof(
  invalidValue(anything, Array.isArray),
  fc.constant([]),
  fc.constant([[USER_MESSAGE]]),
  fc.constant([[USER_MESSAGE], USER_MESSAGE]),
  fc
    .tuple(
      fc.array(fc.constant(USER_MESSAGE), { maxLength: 2 }),
      badMessage,
      fc.array(fc.constant(USER_MESSAGE), { maxLength: 2 }),
    )
    .map(([before, bad, after]) => [...before, bad, ...after]),
  // No user message at all.
  fc.array(
    fc.constantFrom(
      { role: 'system', content: 'You draw posters.' },
      { role: 'developer', content: 'Be brief.' },
      { role: 'assistant', content: 'Here you go.' },
    ),
    { minLength: 1, maxLength: 3 },
  ),
  // More than 100 messages.
  fc.integer({ min: 101, max: 110 }).map((count) => Array.from({ length: count }, () => USER_MESSAGE)),
);

const onlyKeys = (value: Record<string, Json>, allowed: readonly string[]) =>
  Object.keys(value).every((key) => allowed.includes(key));

const chatFieldReplaced: fc.Arbitrary<MalformedBody> = fc.oneof(
  // An images-only model is refused on chat too.
  replaced(
    VALID_CHAT,
    'model',
    badModel((value) => typeof value === 'string' && value.startsWith('azure/')),
  ),
  replaced(VALID_CHAT, 'messages', badMessages),
  fc
    .oneof(
      invalidValue(
        fc.oneof(anything, fc.constantFrom('User', 'tool', 'function', 'model', ...ROLES)),
        (value) => value === 'user',
      ).map((role) => ({ role, content: USER_MESSAGE.content })),
      fc.constant({ content: USER_MESSAGE.content }),
    )
    .map((message) => ({
      kind: 'messages[0].role replaced',
      body: JSON.stringify({ ...VALID_CHAT, messages: [message] }),
    })),
  badContent.map((content) => ({
    kind: 'messages[0].content replaced',
    body: JSON.stringify({ ...VALID_CHAT, messages: [{ role: 'user', content }] }),
  })),
  replaced(
    VALID_CHAT,
    'modalities',
    invalidValue(
      fc.oneof(
        anything,
        fc.array(fc.oneof(fc.constantFrom('image', 'text', 'audio', 'IMAGE', 'Text', ''), json), { maxLength: 4 }),
      ),
      optional(
        (value) =>
          Array.isArray(value) && value.length > 0 && value.every((item) => item === 'image' || item === 'text'),
      ),
    ),
  ),
  replaced(
    VALID_CHAT,
    'image_config',
    invalidValue(
      fc.oneof(
        anything,
        invalidValue(
          fc.oneof(anything, fc.constantFrom('7:3', '16x9', '1:1 ', 'square')),
          optional((value) => isOneOf(value, ASPECT_RATIOS)),
        ).map((ratio) => ({ aspect_ratio: ratio })),
        fc.tuple(unknownKey(['aspect_ratio']), json).map(([key, value]) => ({ aspect_ratio: '16:9', [key]: value })),
      ),
      optional(
        (value) =>
          isPlainObject(value) &&
          onlyKeys(value, ['aspect_ratio']) &&
          optional((ratio) => isOneOf(ratio, ASPECT_RATIOS))(value.aspect_ratio ?? null),
      ),
    ),
  ),
  replaced(
    VALID_CHAT,
    'temperature',
    invalidValue(
      anything,
      optional((value) => isNumberIn(value, 0, 2)),
    ),
  ),
  replaced(
    VALID_CHAT,
    'top_p',
    invalidValue(
      anything,
      optional((value) => isNumberIn(value, 0, 1)),
    ),
  ),
  replaced(
    VALID_CHAT,
    'n',
    invalidValue(
      anything,
      optional((value) => isIntIn(value, 1, 8)),
    ),
  ),
  replaced(
    VALID_CHAT,
    'max_tokens',
    invalidValue(
      fc.oneof(anything, fc.constantFrom(0, 32_769, 1e9)),
      optional((value) => isIntIn(value, 1, 32_768)),
    ),
  ),
  replaced(
    VALID_CHAT,
    'stream',
    invalidValue(
      anything,
      optional((value) => typeof value === 'boolean'),
    ),
  ),
  replaced(
    VALID_CHAT,
    'stream_options',
    invalidValue(
      fc.oneof(
        anything,
        anything.map((includeUsage) => ({ include_usage: includeUsage })),
        fc.tuple(unknownKey(['include_usage']), json).map(([key, value]) => ({ include_usage: true, [key]: value })),
      ),
      optional(
        (value) =>
          isPlainObject(value) &&
          onlyKeys(value, ['include_usage']) &&
          optional((flag) => typeof flag === 'boolean')(value.include_usage ?? null),
      ),
    ),
  ),
  fc
    .tuple(unknownKey(CHAT_FIELDS), json)
    .map(([key, value]) => ({ kind: 'an unknown field', body: withField(VALID_CHAT, key, value) })),
);

const chatBodies: fc.Arbitrary<MalformedBody> = fc.oneof(
  { arbitrary: notObjectBodies, weight: 1 },
  { arbitrary: randomObjectBodies(CHAT_FIELDS), weight: 1 },
  { arbitrary: notJsonBodies(VALID_CHAT), weight: 1 },
  { arbitrary: chatFieldReplaced, weight: 4 },
);

// ------------------------------------------------------------------------------------------------
// Every route that takes input: hostile text, nesting, money, admin bodies and report queries

const HOSTILE_RUNS = 100;
const LOCAL_MODEL = 'local/easel/sketch';
const LOCAL_IMAGES = { model: LOCAL_MODEL, prompt: 'an otter', size: '256x256', response_format: 'b64_json' };
const LOCAL_CHAT = {
  model: LOCAL_MODEL,
  messages: [
    {
      role: 'user',
      content: [TEXT_PART, { type: 'image_url', image_url: { url: PNG_DATA_URL, detail: 'low' } }],
      name: 'alice',
    },
  ],
  modalities: ['image', 'text'],
  image_config: { aspect_ratio: '1:1' },
  user: 'u-1',
};
const PRICING_PATH = `/admin/pricing/${encodeURIComponent(LOCAL_MODEL)}`;

/** A place for a string in a request: `path` as the error's param names it, `set` puts the text there. */
interface TextSlot {
  route: string;
  path: string;
  request: (text: string) => { method: string; path: string; body?: unknown };
  /** A query parameter: sent percent-encoded as UTF-8, so it cannot carry an unpaired surrogate. */
  query?: boolean;
}

const setPath = (base: unknown, path: Array<string | number>, value: unknown): unknown => {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
  return copy;
};
const paramOf = (path: Array<string | number>) =>
  path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${key}` : key), '');

const bodySlots = (
  route: string,
  method: string,
  url: string,
  base: unknown,
  paths: Array<Array<string | number>>,
): TextSlot[] =>
  paths.map((path) => ({
    route,
    path: paramOf(path),
    request: (text) => ({ method, path: url, body: setPath(base, path, text) }),
  }));
const querySlots = (url: string, names: string[]): TextSlot[] =>
  names.map((name) => ({
    route: `GET ${url}`,
    path: name,
    query: true,
    request: (text) => ({ method: 'GET', path: `${url}?${name}=${encodeURIComponent(text)}` }),
  }));

/** Every string field of every route (the key id of PATCH is filled in once the key exists). */
const textSlots = (keyId: () => string): TextSlot[] => [
  ...bodySlots(
    'POST /v1/images/generations',
    'POST',
    IMAGES,
    LOCAL_IMAGES,
    ['model', 'prompt', 'size', 'quality', 'response_format', 'background', 'output_format', 'moderation', 'user'].map(
      (field) => [field],
    ),
  ),
  ...bodySlots('POST /v1/chat/completions', 'POST', CHAT, LOCAL_CHAT, [
    ['model'],
    ['messages', 0, 'role'],
    ['messages', 0, 'content'],
    ['messages', 0, 'content', 0, 'type'],
    ['messages', 0, 'content', 0, 'text'],
    ['messages', 0, 'content', 1, 'image_url', 'url'],
    ['messages', 0, 'content', 1, 'image_url', 'detail'],
    ['messages', 0, 'name'],
    ['modalities', 1],
    ['image_config', 'aspect_ratio'],
    ['user'],
  ]),
  ...bodySlots(
    'POST /admin/keys',
    'POST',
    '/admin/keys',
    { name: 'k', team: 'default', allowed_models: [LOCAL_MODEL] },
    [['name'], ['team'], ['allowed_models', 0], ['expires_at'], ['monthly_budget_usd']],
  ),
  ...['name', 'team', 'expires_at', 'monthly_budget_usd'].map((field) => ({
    route: 'PATCH /admin/keys/:id',
    path: field,
    request: (text: string) => ({ method: 'PATCH', path: `/admin/keys/${keyId()}`, body: { [field]: text } }),
  })),
  ...bodySlots('POST /admin/teams', 'POST', '/admin/teams', { name: 't' }, [['name'], ['monthly_budget_usd']]),
  ...bodySlots('PUT /admin/pricing/:model', 'PUT', PRICING_PATH, { per_million_tokens: { input_text: '0' } }, [
    ['per_image'],
    ['per_million_tokens', 'input_text'],
  ]),
  ...querySlots('/admin/usage', [...USAGE_FILTERS, ...USAGE_REPORT_PARAMETERS]),
  ...querySlots('/admin/usage/records', [...USAGE_FILTERS, ...USAGE_PAGE_PARAMETERS]),
];

const printableName = (text: string) =>
  text
    .replaceAll('\u0000', '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
const around = (middle: fc.Arbitrary<string>) =>
  fc
    .tuple(fc.string({ maxLength: 6 }), middle, fc.string({ maxLength: 6 }))
    .map(([before, text, after]) => `${before}${text}${after}`);
const unstorableChar = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff');
/** Text with a NUL or an unpaired surrogate in it (kept apart, so that no two make a pair). */
const unstorableText = around(fc.array(unstorableChar, { minLength: 1, maxLength: 3 }).map((chars) => chars.join('-')));
const nulText = around(fc.constant('\u0000'));
/** Control characters other than NUL (C0, DEL, C1, separators, BOM, noncharacters): storable, but trouble for renderers and spreadsheets. */
const controlChar = fc.oneof(
  fc.integer({ min: 1, max: 0x1f }).map((code) => String.fromCharCode(code)),
  fc.constantFrom(
    '\u007f',
    '\u0085',
    '\u009b',
    '\u00a0',
    '\u200b',
    '\u2028',
    '\u2029',
    '\ufeff',
    '\ufffe',
    '\uffff',
    '\u{1f9a6}',
  ),
);
const controlText = around(fc.array(controlChar, { minLength: 1, maxLength: 5 }).map((chars) => chars.join('')));

/** `depth` arrays or objects around a leaf, as JSON text (never built as an object: no recursion anywhere). */
const nestedJson = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 40, max: 5_000 })),
    fc.constantFrom<[string, string]>(['[', ']'], ['{"a":', '}'], ['[{"x":', '}]']),
    fc.constantFrom('1', '"x"', 'null', '{}', '[]'),
  )
  .map(([depth, [open, close], leaf]) => `${open.repeat(depth)}${leaf}${close.repeat(depth)}`);

/** Where a nested value goes: a JSON template with `$` for it. */
const NEST_SITES: Array<[string, string, string]> = [
  ['POST', IMAGES, `{"model":"${LOCAL_MODEL}","prompt":$}`],
  ['POST', IMAGES, `{"model":"${LOCAL_MODEL}","prompt":"x","extra":$}`],
  ['POST', CHAT, `{"model":"${LOCAL_MODEL}","messages":[{"role":"user","content":$}]}`],
  ['POST', CHAT, `{"model":"${LOCAL_MODEL}","messages":$}`],
  ['POST', CHAT, `{"model":"${LOCAL_MODEL}","messages":[{"role":"user","content":"x"}],"image_config":$}`],
  ['POST', '/admin/keys', '{"name":"k","team":"default","allowed_models":$}'],
  ['POST', '/admin/keys', '{"name":$,"team":"default"}'],
  ['POST', '/admin/teams', '{"name":"n","monthly_budget_usd":$}'],
  ['PUT', PRICING_PATH, '{"per_million_tokens":$}'],
  ['PUT', PRICING_PATH, '$'],
];

/** A money field and what its column holds. */
interface MoneySlot {
  route: string;
  path: string;
  digits: { integer: number; fraction: number };
  nullable: boolean;
}
const MONEY_SLOTS: MoneySlot[] = [
  { route: 'POST /admin/teams', path: 'monthly_budget_usd', digits: { integer: 8, fraction: 12 }, nullable: true },
  { route: 'POST /admin/keys', path: 'monthly_budget_usd', digits: { integer: 8, fraction: 12 }, nullable: true },
  { route: 'PATCH /admin/keys/:id', path: 'monthly_budget_usd', digits: { integer: 8, fraction: 12 }, nullable: true },
  { route: 'PUT /admin/pricing/:model', path: 'per_image', digits: { integer: 6, fraction: 6 }, nullable: false },
  {
    route: 'PUT /admin/pricing/:model',
    path: 'per_million_tokens.output_image',
    digits: { integer: 6, fraction: 6 },
    nullable: false,
  },
];

const decimalText = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 11 }),
    fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 15 })),
  )
  .map(([whole, fraction]) => (fraction === null ? whole : `${whole}.${fraction}`));
/** Amounts as JSON numbers and as strings, good and bad, and things that are neither. */
const moneyValue: fc.Arbitrary<unknown> = fc.oneof(
  finiteDouble,
  fc.double({ min: 0, max: 2e8, noNaN: true }),
  fc.double({ min: 0, max: 1e-5, noNaN: true }),
  fc.integer({ min: -5, max: 2_000_000_000 }),
  fc
    .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 999_999 }))
    .map(([whole, fraction]) => Number(`${whole}.${fraction}`)),
  decimalText,
  decimalText.map((text) => `-${text}`),
  finiteDouble.map(String),
  fc.constantFrom('1e3', '1E-3', '-0', '+1', ' 5', '5 ', '1,5', '.5', '5.', '0x10', 'NaN', 'Infinity', '', '٣', '５'),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom<unknown>([5], ['5'], {}, { usd: 5 }),
);

/** The oracle: the decimal string a money field must answer, 'refused' for a 400, or null. */
function expectedAmount(value: unknown, { digits, nullable }: MoneySlot): string | null {
  if (value === null) return nullable ? null : 'refused';
  if (typeof value === 'number') {
    if (value < 0 || value >= 10 ** digits.integer) return 'refused';
    // The fewest decimals that still name this very number; more than the column holds is refused.
    for (let decimals = 0; decimals <= digits.fraction; decimals++) {
      if (Number(value.toFixed(decimals)) === value) return value.toFixed(decimals);
    }
    return 'refused';
  }
  if (typeof value !== 'string') return 'refused';
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return 'refused';
  const whole = match[1]!.replace(/^0+/, '') || '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (whole.length > digits.integer || fraction.length > digits.fraction) return 'refused';
  return fraction ? `${whole}.${fraction}` : whole;
}

const dateText = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom(
    '-271821-04-20T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '0000-01-01',
    '1969-12-31T23:59:59Z',
    '9999-12-31T23:59:59.999Z',
    '2026-02-30',
    '2026',
    '1',
    'soon',
    'March 7',
  ),
);
const hostileText: fc.Arbitrary<unknown> = fc.oneof(
  anything,
  controlText,
  unstorableText,
  dateText,
  moneyValue,
  nestedJson.map((text) => JSON.parse(text.length < 2_000 ? text : '[[1]]') as unknown),
);

/** One admin request with one field replaced by something hostile (or an id that is not one). */
const adminRequests = (keyId: () => string) =>
  fc.oneof(
    fc
      .tuple(
        fc.constantFrom(
          'name',
          'team',
          'allowed_models',
          'expires_at',
          'rpm',
          'monthly_budget_usd',
          'admin',
          'key_hash',
        ),
        hostileText,
      )
      .map(([field, value]) => ({
        method: 'POST',
        path: '/admin/keys',
        body: { name: 'k', team: 'default', [field]: value },
      })),
    fc
      .tuple(
        fc.constantFrom('name', 'team', 'allowed_models', 'expires_at', 'rpm', 'monthly_budget_usd', 'admin'),
        hostileText,
      )
      .map(([field, value]) => ({ method: 'PATCH', path: `/admin/keys/${keyId()}`, body: { [field]: value } })),
    fc
      .tuple(fc.constantFrom('name', 'monthly_budget_usd', 'members'), hostileText)
      .map(([field, value]) => ({ method: 'POST', path: '/admin/teams', body: { name: 'x', [field]: value } })),
    fc
      .tuple(fc.constantFrom('per_image', 'per_million_tokens', 'input_text'), hostileText)
      .map(([field, value]) => ({ method: 'PUT', path: PRICING_PATH, body: { [field]: value } })),
    fc
      .tuple(
        fc.constantFrom(
          'input_text',
          'input_text_cached',
          'input_image',
          'input_image_cached',
          'output_text',
          'output_image',
          'other',
        ),
        hostileText,
      )
      .map(([field, value]) => ({
        method: 'PUT',
        path: PRICING_PATH,
        body: { per_million_tokens: { [field]: value } },
      })),
    fc
      .tuple(
        fc.constantFrom('GET', 'PATCH', 'DELETE'),
        fc.oneof(
          fc.uuid(),
          fc.string(),
          controlText,
          nulText,
          fc.constantFrom('-'.repeat(36), '00000000-0000-0000-0000-00000000000g', '%00', '..', '%2e%2e'),
        ),
      )
      .map(([method, id]) => ({
        method,
        path: `/admin/keys/${encodeURIComponent(id)}`,
        body: method === 'PATCH' ? { name: 'x' } : undefined,
      })),
    fc
      .tuple(
        fc.constantFrom('GET', 'PUT'),
        fc.oneof(
          fc.string(),
          controlText,
          nulText,
          fc.constantFrom(...KNOWN_MODELS).map((id) => `${id}\u0000`),
        ),
      )
      .map(([method, model]) => ({
        method,
        path: `/admin/pricing/${encodeURIComponent(model)}`,
        body: method === 'PUT' ? { per_image: '0' } : undefined,
      })),
  );

/** A query string as it may arrive: known and odd names, repeated, with values encoded or raw and broken. */
const hostileQuery = fc
  .array(
    fc.tuple(
      fc.oneof(
        {
          arbitrary: fc.constantFrom(...USAGE_FILTERS, ...USAGE_REPORT_PARAMETERS, ...USAGE_PAGE_PARAMETERS),
          weight: 8,
        },
        {
          arbitrary: fc.constantFrom('group_by[]', 'limit[0]', '__proto__', 'constructor', 'toString', 'a.b', ''),
          weight: 1,
        },
        { arbitrary: fc.string({ maxLength: 5 }).map(encodeURIComponent), weight: 1 },
      ),
      fc.oneof(
        fc
          .oneof(fc.string(), controlText, nulText, dateText, fc.constantFrom(...GROUP_FORMATS))
          .map(encodeURIComponent),
        fc.constantFrom(
          '%00',
          '%ED%A0%80',
          '%ED%B0%80',
          '%FF',
          '%C0%80',
          '%',
          '%zz',
          '%%',
          '1e309',
          '1e2',
          '0x10',
          '-1',
          '0',
          '1001',
          'NaN',
          '+',
          '%2B1',
          '-'.repeat(36),
        ),
        fc
          .tuple(dateText, fc.oneof(fc.uuid(), fc.string(), fc.constant('-'.repeat(36))))
          .map(([at, id]) => Buffer.from(`${at}|${id}`).toString('base64url')),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('&'));

// ------------------------------------------------------------------------------------------------

describe('malformed bodies (property-based)', () => {
  let azure: FakeAzureOpenAiServer;
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;
  /** A key that only PATCH requests touch (they may rename it, give it a budget or expire it). */
  let patchedKeyId: string;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({
      apiKey: AZURE_KEY,
      deployments: ['gpt-image-1', 'gpt-image-1.5'],
    }).start();
    vertex = await new FakeVertexServer({
      accessToken: VERTEX_TOKEN,
      project: VERTEX_PROJECT,
      location: VERTEX_LOCATION,
      models: ['gemini-2.5-flash-image'],
    }).start();
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
    key = (await createApiKey(sut)).key;
    patchedKeyId = (await createApiKey(sut, { name: 'patched by the properties' })).id;
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
    if (!isOpenAiError(parses(text) ? JSON.parse(text) : undefined))
      throw new Error(`expected exactly { error: { message, type, param, code } }, got ${exchange}`);
    const upstream = [...azure.requests, ...vertex.requests].map((request) => `${request.method} ${request.path}`);
    if (upstream.length > 0)
      throw new Error(`an upstream was called (${upstream.join(', ')}); Easel answered ${exchange}`);
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

  /**
   * Sends one request (a string body verbatim, anything else as JSON) and throws, with the whole
   * exchange, unless Easel answered below 500, every 4xx in OpenAI's shape, without calling an upstream.
   */
  async function expectAnswered(request: {
    method: string;
    path: string;
    body?: unknown;
  }): Promise<{ status: number; body: unknown }> {
    azure.reset();
    vertex.reset();
    const response = await sut.http(request.path, {
      method: request.method,
      key: request.path.startsWith('/admin') ? sut.adminKey : key,
      body: request.body,
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    const sent =
      request.body === undefined
        ? ''
        : ` ${(typeof request.body === 'string' ? request.body : JSON.stringify(request.body)).slice(0, 300)}`;
    const exchange = `${request.method} ${request.path.slice(0, 300)}${sent} -> ${response.status} (${contentType}) ${text.slice(0, 600)}`;
    if (response.status >= 500) throw new Error(`expected no 5xx, got ${exchange}`);
    const body = /^application\/json\b/.test(contentType) && parses(text) ? (JSON.parse(text) as unknown) : text;
    if (response.status >= 400 && !isOpenAiError(body))
      throw new Error(`expected a JSON error { error: { message, type, param, code } }, got ${exchange}`);
    const upstream = [...azure.requests, ...vertex.requests].map((call) => `${call.method} ${call.path}`);
    if (upstream.length > 0)
      throw new Error(`an upstream was called (${upstream.join(', ')}); Easel answered ${exchange}`);
    return { status: response.status, body };
  }

  const errorOf = (body: unknown) => (body as { error: { type: string; param: string | null } }).error;

  it('takes the valid requests the hostile ones are derived from', async () => {
    expect((await expectAnswered({ method: 'POST', path: IMAGES, body: LOCAL_IMAGES })).status).toBe(200);
    expect((await expectAnswered({ method: 'POST', path: CHAT, body: LOCAL_CHAT })).status).toBe(200);
    expect(
      (
        await expectAnswered({
          method: 'POST',
          path: '/admin/keys',
          body: { name: 'k', team: 'default', allowed_models: [LOCAL_MODEL] },
        })
      ).status,
    ).toBe(201);
    expect(
      (await expectAnswered({ method: 'PATCH', path: `/admin/keys/${patchedKeyId}`, body: { name: 'patched' } }))
        .status,
    ).toBe(200);
    expect((await expectAnswered({ method: 'POST', path: '/admin/teams', body: { name: 'valid-base' } })).status).toBe(
      201,
    );
    expect(
      (await expectAnswered({ method: 'PUT', path: PRICING_PATH, body: { per_million_tokens: { input_text: '0' } } }))
        .status,
    ).toBe(200);
    expect(
      (await expectAnswered({ method: 'GET', path: '/admin/usage?team=default&model=x&group_by=team&format=json' }))
        .status,
    ).toBe(200);
    expect((await expectAnswered({ method: 'GET', path: '/admin/usage/records?team=default&limit=5' })).status).toBe(
      200,
    );
  });

  it(`answers text with a NUL or an unpaired surrogate in any string field of any route with a 400 naming the field (${HOSTILE_RUNS} runs)`, async () => {
    const slots = textSlots(() => patchedKeyId);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...slots), unstorableText, nulText, async (slot, text, nul) => {
        const { status, body } = await expectAnswered(slot.request(slot.query ? nul : text));
        if (status !== 400 || errorOf(body).type !== 'invalid_request_error' || errorOf(body).param !== slot.path) {
          throw new Error(`${slot.route}: expected a 400 naming ${slot.path}, got ${status} ${JSON.stringify(body)}`);
        }
      }),
      { numRuns: HOSTILE_RUNS, seed: SEED },
    );
  }, 120_000);

  it('answers a field name with a NUL or an unpaired surrogate with a 400 naming it (made printable)', async () => {
    const routes: Array<[string, string, Record<string, unknown>]> = [
      ['POST', IMAGES, LOCAL_IMAGES],
      ['POST', CHAT, LOCAL_CHAT],
      ['POST', '/admin/keys', { name: 'k', team: 'default' }],
      ['POST', '/admin/teams', { name: 't' }],
      ['PUT', PRICING_PATH, {}],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), unstorableText, async ([method, path, base], name) => {
        const { status, body } = await expectAnswered({ method, path, body: { ...base, [name]: 1 } });
        if (status !== 400 || errorOf(body).param !== printableName(name))
          throw new Error(`${method} ${path}: expected a 400 naming the field, got ${status} ${JSON.stringify(body)}`);
      }),
      { numRuns: 50, seed: SEED },
    );
  });

  it(`never answers a 5xx to control characters in any string field of any route (${HOSTILE_RUNS} runs)`, async () => {
    const slots = textSlots(() => patchedKeyId);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...slots), controlText, async (slot, text) => {
        await expectAnswered(slot.request(text));
      }),
      { numRuns: HOSTILE_RUNS, seed: SEED },
    );
  }, 120_000);

  it(`answers JSON nested up to 5,000 deep in any field of any route with a 4xx (${HOSTILE_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...NEST_SITES), nestedJson, async ([method, path, template], nested) => {
        const { status } = await expectAnswered({ method, path, body: template.replace('$', nested) });
        if (status < 400) throw new Error(`${method} ${path}: expected a 4xx for a nested body, got ${status}`);
      }),
      { numRuns: HOSTILE_RUNS, seed: SEED },
    );
  }, 120_000);

  it('takes money as JSON numbers and decimal strings exactly, answers decimal strings, and refuses the rest naming the field (150 runs)', async () => {
    let team = 0;
    const requestFor = (slot: MoneySlot, value: unknown) => {
      switch (slot.route) {
        case 'POST /admin/teams':
          return { method: 'POST', path: '/admin/teams', body: { name: `money-${team++}`, monthly_budget_usd: value } };
        case 'POST /admin/keys':
          return {
            method: 'POST',
            path: '/admin/keys',
            body: { name: 'money', team: 'default', monthly_budget_usd: value },
          };
        case 'PATCH /admin/keys/:id':
          return { method: 'PATCH', path: `/admin/keys/${patchedKeyId}`, body: { monthly_budget_usd: value } };
        default:
          return {
            method: 'PUT',
            path: PRICING_PATH,
            body: slot.path === 'per_image' ? { per_image: value } : { per_million_tokens: { output_image: value } },
          };
      }
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MONEY_SLOTS), moneyValue, async (slot, value) => {
        const expected = expectedAmount(roundTrip(value), slot);
        const { status, body } = await expectAnswered(requestFor(slot, value));
        if (expected === 'refused') {
          if (status !== 400 || errorOf(body).param !== slot.path)
            throw new Error(
              `${slot.route} ${JSON.stringify(value)}: expected a 400 naming ${slot.path}, got ${status} ${JSON.stringify(body)}`,
            );
          return;
        }
        const answered = slot.path
          .split('.')
          .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], body);
        if (status >= 300 || answered !== expected) {
          throw new Error(
            `${slot.route} ${JSON.stringify(value)}: expected a 2xx with ${slot.path} ${JSON.stringify(expected)}, got ${status} ${JSON.stringify(body)}`,
          );
        }
      }),
      { numRuns: 150, seed: SEED },
    );
  }, 120_000);

  it(`never answers a 5xx to admin requests with one hostile field or id (${HOSTILE_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        adminRequests(() => patchedKeyId),
        async (request) => {
          await expectAnswered(request);
        },
      ),
      { numRuns: HOSTILE_RUNS, seed: SEED },
    );
  }, 120_000);

  it(`never answers a 5xx to hostile query strings on the usage reports, JSON or CSV (${HOSTILE_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/admin/usage', '/admin/usage/records'),
        hostileQuery,
        fc.boolean(),
        async (path, query, csv) => {
          azure.reset();
          const response = await sut.http(`${path}?${query}`, {
            key: sut.adminKey,
            headers: csv ? { accept: 'text/csv' } : {},
          });
          const text = await response.text();
          const exchange = `GET ${path}?${query} -> ${response.status} ${text.slice(0, 400)}`;
          if (response.status >= 500) throw new Error(`expected no 5xx, got ${exchange}`);
          if (response.status >= 400 && !isOpenAiError(parses(text) ? JSON.parse(text) : undefined))
            throw new Error(`expected an OpenAI-shaped error, got ${exchange}`);
        },
      ),
      { numRuns: HOSTILE_RUNS, seed: SEED },
    );
  }, 120_000);

  it('reaches the fakes with the valid requests the malformed ones were derived from', async () => {
    const images = await sut.http(IMAGES, { key, body: { ...VALID_IMAGES, response_format: 'b64_json' } });
    expect(images.status).toBe(200);
    expect(azure.generationRequests).toHaveLength(1);

    const chat = await sut.http(CHAT, {
      key,
      body: { ...VALID_CHAT, messages: [{ role: 'user', content: [TEXT_PART, IMAGE_PART] }] },
    });
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
