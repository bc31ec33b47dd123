import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, useUpstreamApp } from '../utils/upstream-apps.js';

const MODEL = 'azure/openai/gpt-image-1.5';
const valid = { model: MODEL, prompt: 'a valid prompt' };

/** Every invalid case of SPEC §3.1: [name, body, the param the 400 must name]. */
const INVALID: Array<[string, Record<string, unknown>, string]> = [
  ['missing model', { prompt: 'x' }, 'model'],
  ['model not a string', { model: 42, prompt: 'x' }, 'model'],
  ['missing prompt', { model: MODEL }, 'prompt'],
  ['empty prompt', { ...valid, prompt: '' }, 'prompt'],
  ['prompt not a string', { ...valid, prompt: ['a'] }, 'prompt'],
  ['prompt over 32000 characters', { ...valid, prompt: 'p'.repeat(32001) }, 'prompt'],
  ['n = 0', { ...valid, n: 0 }, 'n'],
  ['n = 11', { ...valid, n: 11 }, 'n'],
  ['n not an integer', { ...valid, n: 1.5 }, 'n'],
  ['n as a string', { ...valid, n: '2' }, 'n'],
  ['size not WxH', { ...valid, size: 'large' }, 'size'],
  ['size the model does not offer', { ...valid, size: '512x512' }, 'size'],
  ['quality unknown', { ...valid, quality: 'ultra' }, 'quality'],
  ['response_format unknown', { ...valid, response_format: 'png' }, 'response_format'],
  ['background unknown', { ...valid, background: 'none' }, 'background'],
  ['transparent background with jpeg', { ...valid, background: 'transparent', output_format: 'jpeg' }, 'background'],
  ['output_format unknown', { ...valid, output_format: 'gif' }, 'output_format'],
  ['output_format the model does not offer', { ...valid, output_format: 'webp' }, 'output_format'],
  ['output_compression over 100', { ...valid, output_format: 'jpeg', output_compression: 101 }, 'output_compression'],
  ['output_compression below 0', { ...valid, output_format: 'jpeg', output_compression: -1 }, 'output_compression'],
  ['output_compression with png', { ...valid, output_compression: 50 }, 'output_compression'],
  ['moderation unknown', { ...valid, moderation: 'high' }, 'moderation'],
  ['user not a string', { ...valid, user: 7 }, 'user'],
  ['stream not a boolean', { ...valid, stream: 'yes' }, 'stream'],
  ['partial_images over 3', { ...valid, stream: true, partial_images: 4 }, 'partial_images'],
  ['partial_images without stream', { ...valid, partial_images: 1 }, 'partial_images'],
  ['stream with response_format url', { ...valid, stream: true, response_format: 'url' }, 'response_format'],
  ['quality xhigh, which gpt-image-1.5 does not take', { ...valid, quality: 'xhigh' }, 'quality'],
  ['image_size on a model without tiers', { ...valid, image_size: '2K' }, 'image_size'],
  ['image_size as a number', { ...valid, image_size: 2 }, 'image_size'],
  ['image_size in lower case', { ...valid, image_size: '2k' }, 'image_size'],
  ['image_size with a NUL', { ...valid, image_size: '2K\u0000' }, 'image_size'],
  ['image_size huge', { ...valid, image_size: 'K'.repeat(100_000) }, 'image_size'],
  ['a custom size on a model without custom sizes', { ...valid, size: '2048x1152' }, 'size'],
  ['size with a control character', { ...valid, size: '1024x1024\n' }, 'size'],
  ['an unknown field', { ...valid, style: 'vivid' }, 'style'],
  ['a field named like an Object method', { ...valid, toString: {} }, 'toString'],
  ['a model that does not exist in the right type', { ...valid, model: '' }, 'model'],
];

describe('POST /v1/images/generations validation', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app));

  it.each(INVALID)('rejects %s with 400 naming the field, without calling Azure', async (_name, body, param) => {
    azure.reset();

    const response = await sut.http('/v1/images/generations', { key, body });

    expect(response.status).toBe(400);
    const error = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) },
    });
    expect(azure.requests).toHaveLength(0);
  });

  it('accepts the valid request those cases were derived from', async () => {
    azure.reset();
    const response = await sut.http('/v1/images/generations', { key, body: { ...valid, response_format: 'b64_json' } });
    expect(response.status).toBe(200);
    expect(azure.requests).toHaveLength(1);
  });
});
