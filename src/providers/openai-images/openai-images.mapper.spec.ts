import { type FormPart, parseMultipartForm } from '../../../test/fakes/multipart-form.js';
import { errorThrownBy } from '../../../test/utils/thrown-error.js';
import { EMPTY_USAGE } from '../../usage/usage-measure.js';
import type { ImageEditRequest, ImageGenerationRequest, InputImage } from '../image-provider.interface.js';
import type { MultipartBody } from '../multipart-body.js';
import { UpstreamTransportError } from '../upstream-http.js';
import { fromImagesResponse, toEditForm, toImagesBody } from './openai-images.mapper.js';
import type { OpenAiImagesResponse } from './openai-images.types.js';

/** A 1×1 transparent PNG. */
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

function request(overrides: Partial<ImageGenerationRequest> = {}): ImageGenerationRequest {
  return { prompt: 'an otter', n: 1, size: '1024x1024', outputFormat: 'png', ...overrides };
}

function inputImage(format: InputImage['format'], bytes: Buffer): InputImage {
  return { bytes, format, mimeType: `image/${format}`, width: 64, height: 64 };
}

function edit(overrides: Partial<ImageEditRequest> = {}): ImageEditRequest {
  return { ...request(), images: [inputImage('png', Buffer.from('png bytes'))], ...overrides };
}

/** The parts of a form as an upstream reads them, in wire order. */
async function partsOf(
  form: MultipartBody,
): Promise<Array<Pick<FormPart, 'name' | 'filename' | 'contentType'> & { text: string }>> {
  const chunks: Buffer[] = [];
  for await (const chunk of form.stream()) chunks.push(chunk as Buffer);
  const parts = await parseMultipartForm(form.contentType, Buffer.concat(chunks));
  return parts.map(({ name, filename, contentType, bytes }) => ({
    name,
    ...(filename === undefined ? {} : { filename }),
    contentType,
    text: bytes.toString('utf8'),
  }));
}

describe('toImagesBody', () => {
  it('sends prompt, n, size and output_format for a minimal request', () => {
    expect(toImagesBody(request())).toEqual({ prompt: 'an otter', n: 1, size: '1024x1024', output_format: 'png' });
  });

  it('sends model first when the upstream takes it in the body', () => {
    const body = toImagesBody(request(), 'gpt-image-2');

    expect(Object.keys(body)).toEqual(['model', 'prompt', 'n', 'size', 'output_format']);
    expect(body.model).toBe('gpt-image-2');
  });

  it('omits size when it is auto', () => {
    expect(toImagesBody(request({ size: 'auto' }))).not.toHaveProperty('size');
  });

  it('maps every optional field to its OpenAI name, a custom size and quality xhigh as they are', () => {
    const body = toImagesBody(
      request({
        n: 3,
        size: '2048x1152',
        quality: 'xhigh',
        background: 'opaque',
        outputFormat: 'webp',
        outputCompression: 70,
        moderation: 'low',
        user: 'user-42',
      }),
    );

    expect(body).toEqual({
      prompt: 'an otter',
      n: 3,
      size: '2048x1152',
      quality: 'xhigh',
      background: 'opaque',
      output_format: 'webp',
      output_compression: 70,
      moderation: 'low',
      user: 'user-42',
    });
  });

  it('keeps an output_compression of 0', () => {
    expect(toImagesBody(request({ outputFormat: 'jpeg', outputCompression: 0 })).output_compression).toBe(0);
  });

  it('never sends response_format', () => {
    const body = toImagesBody({ ...request(), response_format: 'url' } as ImageGenerationRequest);

    expect(JSON.stringify(body)).not.toContain('response_format');
  });
});

describe('toEditForm', () => {
  it('sends one image as `image` with its real type, after the text fields', async () => {
    const parts = await partsOf(toEditForm(edit({ size: 'auto', quality: 'low' })));

    expect(parts).toEqual([
      { name: 'prompt', contentType: 'text/plain', text: 'an otter' },
      { name: 'n', contentType: 'text/plain', text: '1' },
      { name: 'quality', contentType: 'text/plain', text: 'low' },
      { name: 'output_format', contentType: 'text/plain', text: 'png' },
      { name: 'image', filename: 'image-0.png', contentType: 'image/png', text: 'png bytes' },
    ]);
  });

  it('sends model, input_fidelity and the extra fields as text; several images as image[], then the mask', async () => {
    const form = toEditForm(
      edit({
        images: [inputImage('png', Buffer.from('one')), inputImage('jpeg', Buffer.from('two'))],
        mask: inputImage('png', Buffer.from('mask')),
        inputFidelity: 'high',
      }),
      'gpt-image-2.6-sunburst',
      [{ name: 'stream', value: 'true' }],
    );

    expect(
      (await partsOf(form)).map(({ name, filename, contentType, text }) => [name, filename, contentType, text]),
    ).toEqual([
      ['model', undefined, 'text/plain', 'gpt-image-2.6-sunburst'],
      ['prompt', undefined, 'text/plain', 'an otter'],
      ['n', undefined, 'text/plain', '1'],
      ['size', undefined, 'text/plain', '1024x1024'],
      ['output_format', undefined, 'text/plain', 'png'],
      ['input_fidelity', undefined, 'text/plain', 'high'],
      ['stream', undefined, 'text/plain', 'true'],
      ['image[]', 'image-0.png', 'image/png', 'one'],
      ['image[]', 'image-1.jpeg', 'image/jpeg', 'two'],
      ['mask', 'mask.png', 'image/png', 'mask'],
    ]);
  });
});

describe('fromImagesResponse', () => {
  const usage: OpenAiImagesResponse['usage'] = {
    input_tokens: 80,
    input_tokens_details: { text_tokens: 50, image_tokens: 30, cached_tokens: 10 },
    output_tokens: 544,
    output_tokens_details: { image_tokens: 544 },
    total_tokens: 624,
  };

  it('passes base64 through untouched', () => {
    const result = fromImagesResponse({ data: [{ b64_json: PNG_B64 }, { b64_json: 'AAAA' }] }, request({ n: 2 }));

    expect(result.images.map((image) => image.base64())).toEqual([PNG_B64, 'AAAA']);
    expect(result.images[0]!.bytes().subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('maps usage: input text and image tokens, cached tokens, output image tokens and the image count', () => {
    const result = fromImagesResponse({ data: [{ b64_json: PNG_B64 }], usage }, request());

    expect(result.usage).toEqual({
      inputTextTokens: 50,
      inputImageTokens: 30,
      cachedInputTokens: 10,
      outputTextTokens: 0,
      outputImageTokens: 544,
      images: 1,
    });
  });

  it('derives text input and image output tokens from the totals when details are missing', () => {
    const result = fromImagesResponse(
      {
        data: [{ b64_json: PNG_B64 }],
        usage: { input_tokens: 50, output_tokens: 600, output_tokens_details: { text_tokens: 56 } },
      },
      request(),
    );

    expect(result.usage).toMatchObject({
      inputTextTokens: 50,
      inputImageTokens: 0,
      outputTextTokens: 56,
      outputImageTokens: 544,
    });
  });

  it('reports zero tokens when there is no usage', () => {
    const result = fromImagesResponse({ data: [{ b64_json: PNG_B64 }, { b64_json: PNG_B64 }] }, request({ n: 2 }));

    expect(result.usage).toEqual({ ...EMPTY_USAGE, images: 2 });
  });

  it('ignores negative or fractional token counts', () => {
    const result = fromImagesResponse(
      { data: [{ b64_json: PNG_B64 }], usage: { input_tokens: -5, output_tokens: 1.5 } },
      request(),
    );

    expect(result.usage.inputTextTokens).toBe(0);
    expect(result.usage.outputImageTokens).toBe(0);
  });

  it('reports what the upstream produced, falling back to the request', () => {
    const produced = fromImagesResponse(
      {
        data: [{ b64_json: PNG_B64 }],
        size: '2048x1152',
        quality: 'max',
        background: 'opaque',
        output_format: 'webp',
      },
      request({ size: 'auto' }),
    );
    const requested = fromImagesResponse(
      { data: [{ b64_json: PNG_B64 }] },
      request({ quality: 'low', outputFormat: 'png' }),
    );

    expect(produced).toMatchObject({ size: '2048x1152', quality: 'max', background: 'opaque', outputFormat: 'webp' });
    expect(requested).toMatchObject({ size: '1024x1024', quality: 'low', background: 'auto', outputFormat: 'png' });
  });

  it('ignores an output_format Easel does not serve (gif, svg)', () => {
    const result = fromImagesResponse(
      { data: [{ b64_json: PNG_B64 }], output_format: 'gif' },
      request({ outputFormat: 'png' }),
    );

    expect(result.outputFormat).toBe('png');
  });

  it.each<[string, OpenAiImagesResponse]>([
    ['no data', {}],
    ['empty data', { data: [] }],
    ['a url instead of base64', { data: [{ url: 'https://example.com/a.png' }] }],
    ['an empty b64_json', { data: [{ b64_json: '' }] }],
    ['one image of two without base64', { data: [{ b64_json: PNG_B64 }, {}] }],
  ])('throws a malformed-answer error for %s', (_what, body) => {
    expect(errorThrownBy(() => fromImagesResponse(body, request()), UpstreamTransportError).reason).toBe('malformed');
  });
});
