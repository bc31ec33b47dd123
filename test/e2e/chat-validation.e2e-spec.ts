import { createApiKey } from '../factories/api-key.factory.js';
import { chatRequest } from '../factories/request-body.factory.js';
import { FakeVertexServer } from '../fakes/fake-vertex.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithVertex, useUpstreamApp } from '../utils/upstream-apps.js';

const MODEL = 'vertex/google/gemini-2.5-flash-image';
const valid = chatRequest({ model: MODEL, content: 'A lighthouse at dusk' });

/** A real 1x1 PNG. */
const PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const user = (content: unknown) => chatRequest({ model: MODEL, content });
const withImages = (count: number) =>
  user([
    { type: 'text', text: 'Combine these' },
    ...Array.from({ length: count }, () => ({ type: 'image_url', image_url: { url: PNG_DATA_URL } })),
  ]);

interface Expected {
  param: string;
  /** invalid_value unless given. */
  code?: string;
  message?: RegExp;
}

/** Every invalid case: [name, body, what the 400 must say]. */
const INVALID: Array<[string, Record<string, unknown>, Expected]> = [
  ['missing model', { messages: valid.messages }, { param: 'model' }],
  ['missing messages', { model: MODEL }, { param: 'messages' }],
  ['an empty messages array', { ...valid, messages: [] }, { param: 'messages' }],
  ['a message without role', { ...valid, messages: [{ content: 'hi' }] }, { param: 'messages[0].role' }],
  ['an unknown role', { ...valid, messages: [{ role: 'robot', content: 'hi' }] }, { param: 'messages[0].role' }],
  ['content that is a number', user(42), { param: 'messages[0].content' }],
  [
    'a content part of unknown type',
    user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }]),
    { param: 'messages[0].content' },
  ],
  ['a text part without text', user([{ type: 'text' }]), { param: 'messages[0].content' }],
  [
    'an image part with a remote https URL',
    user([
      { type: 'text', text: 'Make it blue' },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
    ]),
    {
      param: 'messages[0].content[1].image_url.url',
      message: /Remote image URLs are not enabled.*REMOTE_IMAGE_URLS=true.*data URL/,
    },
  ],
  [
    'a data URL that is not an image',
    user([
      { type: 'text', text: 'Make it blue' },
      { type: 'image_url', image_url: { url: 'data:text/plain;base64,aGVsbG8gd29ybGQ=' } },
    ]),
    { param: 'messages[0].content[1].image_url.url' },
  ],
  ['4 input images when the model takes 3', withImages(4), { param: 'messages', message: /\b3\b/ }],
  [
    'only a system message',
    { ...valid, messages: [{ role: 'system', content: 'You draw posters.' }] },
    { param: 'messages' },
  ],
  [
    'only an assistant message',
    { ...valid, messages: [{ role: 'assistant', content: 'Here you go.' }] },
    { param: 'messages', message: /user message/ },
  ],
  ['empty string content', user(''), { param: 'messages[0].content', message: /empty/ }],
  ['an empty text part', user([{ type: 'text', text: '' }]), { param: 'messages[0].content', message: /empty/ }],
  [
    'a data URL whose bytes are not the image type it claims',
    user([
      { type: 'text', text: 'Make it blue' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,aGVsbG8gd29ybGQgdGhpcyBpcyBub3QgYSBwbmc=' } },
    ]),
    { param: 'messages[0].content[1].image_url.url', message: /not such an image/ },
  ],
  ['temperature 3', { ...valid, temperature: 3 }, { param: 'temperature' }],
  ['top_p 2', { ...valid, top_p: 2 }, { param: 'top_p' }],
  ['n 9', { ...valid, n: 9 }, { param: 'n' }],
  ['max_tokens 0', { ...valid, max_tokens: 0 }, { param: 'max_tokens' }],
  ["modalities ['audio']", { ...valid, modalities: ['audio'] }, { param: 'modalities' }],
  [
    "image_config.aspect_ratio '7:3'",
    { ...valid, image_config: { aspect_ratio: '7:3' } },
    { param: 'image_config.aspect_ratio' },
  ],
  [
    'image_config.image_size on a model without tiers',
    { ...valid, image_config: { image_size: '2K' } },
    { param: 'image_config.image_size', code: 'unsupported_parameter' },
  ],
  [
    'image_config.image_size as a number',
    { ...valid, image_config: { image_size: 1 } },
    { param: 'image_config.image_size' },
  ],
  [
    'image_config.image_size with a NUL',
    { ...valid, image_config: { image_size: '1K\u0000' } },
    { param: 'image_config.image_size' },
  ],
  ['max_tokens as a string', { ...valid, max_tokens: '4096' }, { param: 'max_tokens' }],
  ["stream 'yes'", { ...valid, stream: 'yes' }, { param: 'stream' }],
  ['an unknown top-level field', { ...valid, style: 'vivid' }, { param: 'style', code: 'unknown_parameter' }],
  ['a message that is an array', { ...valid, messages: [[{ role: 'user', content: 'hi' }]] }, { param: 'messages' }],
  [
    'a nested field named like an Object method',
    { ...valid, stream_options: { include_usage: true, constructor: [] } },
    { param: 'stream_options.constructor', code: 'unknown_parameter' },
  ],
  [
    'an unknown field inside stream_options',
    { ...valid, stream: true, stream_options: { include_usage: true, chunk_size: 3 } },
    { param: 'stream_options.chunk_size', code: 'unknown_parameter' },
  ],
];

describe('POST /v1/chat/completions validation', () => {
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app));

  it.each(INVALID)(
    'rejects %s with 400 naming the field, without calling Vertex',
    async (_name, body, { param, code = 'invalid_value', message }) => {
      const response = await sut.http('/v1/chat/completions', { key, body });

      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const error = (await response.json()) as { error: { message: string } };
      expect(error).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param, code } });
      if (message) expect(error.error.message).toMatch(message);
      expect(vertex.requests).toHaveLength(0);
    },
  );

  it('accepts the valid request those cases were derived from, images included', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: withImages(3),
    });

    expect(response.status).toBe(200);
    expect(vertex.generationRequests).toHaveLength(1);
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: { ...valid, model: 'vertex/google/gemini-9-ultra-image' },
    });

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
    });
    expect(vertex.requests).toHaveLength(0);
  });

  it('refuses an images-only model on chat with 400 on model', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: { ...valid, model: 'azure/openai/gpt-image-1.5' },
    });

    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: 'model', code: 'invalid_value' },
    });
    expect(body.error.message).toContain('/v1/images/generations');
    expect(vertex.requests).toHaveLength(0);
  });

  it('refuses a key whose allowed_models excludes the model with 403', async () => {
    const { key: limited } = await createApiKey(sut, { allowed_models: ['local/easel/sketch'] });

    const response = await sut.http('/v1/chat/completions', { key: limited, body: valid });

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'permission_error', param: 'model', code: 'permission_denied' },
    });
    expect(vertex.requests).toHaveLength(0);
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: '{"model":"vertex/google/gemini-2.5-flash-image","messages":[',
    });

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_json' },
    });
    expect(vertex.requests).toHaveLength(0);
  });
});
