import sharp from 'sharp';
import { Agent, fetch, FormData } from 'undici';
import { waitFor } from '../utils/wait-for.js';
import {
  CONTENT_FILTER_BODIES,
  EDIT_INPUT_IMAGE_TOKENS,
  FakeAzureOpenAiServer,
  OUTPUT_TOKENS,
  UNSUPPORTED_MULTIPART_BODY,
} from './fake-azure-openai.server.js';
import { outputImageTokens } from './fake-openai-images.server.js';

const API_KEY = 'azure-fake-spec-key-0123';
const DEPLOYMENT = 'gpt-image-1';
const API_VERSION = '2025-04-01-preview';

interface ImagesAnswer {
  data: Array<{ b64_json: string }>;
  size: string;
  quality: string;
  output_format: string;
  background: string;
  usage: {
    input_tokens: number;
    input_tokens_details: { text_tokens: number; image_tokens: number };
    output_tokens: number;
    total_tokens: number;
  };
}

interface ErrorAnswer {
  error: { code: string; message: string; param: string; type: string };
}

/** A solid image of that size and format, made by sharp (real bytes a decoder accepts). */
async function image(width: number, height: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const base = sharp({ create: { width, height, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 1 } } });
  return base.toFormat(format).toBuffer();
}

/** Reads an image SSE body into its event names and parsed payloads. */
async function readEvents(response: Response): Promise<Array<{ name: string; data: Record<string, unknown> }>> {
  return (await response.text())
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [, name, data] = /^event: (\S+)\ndata: (.*)$/s.exec(block)!;
      return { name: name!, data: JSON.parse(data!) as Record<string, unknown> };
    });
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
    azure = await new FakeAzureOpenAiServer({ apiKey: API_KEY, deployments: [DEPLOYMENT, 'gpt-image-2'] }).start();
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
    ['webp, which Azure does not make', { output_format: 'webp' }, 'invalid_value', 'output_format'],
    ['a custom size, which gpt-image-1 does not make', { size: '1280x720' }, 'invalid_value', 'size'],
    ['quality xhigh, which only gpt-image-2.5 and later have', { quality: 'xhigh' }, 'invalid_value', 'quality'],
  ])('refuses %s with 400 naming the parameter', async (_name, fields, code, param) => {
    const response = await post(url(), { prompt: 'p', ...fields });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code, param, type: 'invalid_request_error' } });
  });

  it('serves a gpt-image-2 deployment by its rules: custom sizes within the limits, no xhigh', async () => {
    const gptImage2 = url({ deployment: 'gpt-image-2' });

    const custom = await post(gptImage2, { prompt: 'x'.repeat(40), size: '1280x720', quality: 'low' });
    const oddSize = await post(gptImage2, { prompt: 'p', size: '1000x1000' });
    const xhigh = await post(gptImage2, { prompt: 'p', quality: 'xhigh' });

    expect(custom.status).toBe(200);
    const body = (await custom.json()) as ImagesAnswer;
    expect(body.size).toBe('1280x720');
    expect(await sharp(Buffer.from(body.data[0]!.b64_json, 'base64')).metadata()).toMatchObject({
      width: 1280,
      height: 720,
    });
    expect(body.usage.output_tokens).toBe(outputImageTokens('gpt-image-2', 'low', '1280x720'));
    expect([oddSize.status, ((await oddSize.json()) as ErrorAnswer).error.param]).toEqual([400, 'size']);
    expect([xhigh.status, ((await xhigh.json()) as ErrorAnswer).error.param]).toEqual([400, 'quality']);
  });

  it('keeps the raw body bytes of every request beside the parsed JSON', async () => {
    const sent = JSON.stringify({ prompt: 'p', size: '1024x1024', quality: 'low' });
    await fetch(url(), {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': API_KEY },
      body: sent,
    });

    expect(azure.requests[0]!.rawBody.toString('utf8')).toBe(sent);
    expect(azure.requests[0]!.body).toEqual(JSON.parse(sent));
    expect(azure.requests[0]!.form).toBeUndefined();
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

  describe('images/edits', () => {
    const editUrl = (deployment = DEPLOYMENT) =>
      `${azure.baseUrl}/openai/deployments/${deployment}/images/edits?api-version=${API_VERSION}`;

    const postForm = (form: FormData, { apiKey = API_KEY, deployment = DEPLOYMENT } = {}) =>
      fetch(editUrl(deployment), { dispatcher: agent, method: 'POST', headers: { 'api-key': apiKey }, body: form });

    /** A form with the given parts: text as a string, a file as [bytes, filename, content type]. */
    const formOf = (parts: Array<[string, string | [Buffer, string, string]]>) => {
      const form = new FormData();
      for (const [name, value] of parts) {
        if (typeof value === 'string') form.append(name, value);
        else form.append(name, new Blob([value[0]], { type: value[2] }), value[1]);
      }
      return form;
    };

    let square: Buffer;
    let wide: Buffer;

    beforeAll(async () => {
      square = await image(1024, 1024);
      wide = await image(1536, 1024);
    });

    it('takes one `image` file: answers the first image size for size auto, and bills its image tokens', async () => {
      const prompt = 'x'.repeat(40);
      const response = await postForm(
        formOf([
          ['image', [wide, 'wide.png', 'image/png']],
          ['prompt', prompt],
          ['quality', 'low'],
        ]),
      );

      expect(response.status).toBe(200);
      const body = (await response.json()) as ImagesAnswer;
      expect(body).toMatchObject({ size: '1536x1024', quality: 'low', output_format: 'png' });
      const metadata = await sharp(Buffer.from(body.data[0]!.b64_json, 'base64')).metadata();
      expect(metadata).toMatchObject({ format: 'png', width: 1536, height: 1024 });
      const output = OUTPUT_TOKENS.low!['1536x1024']!;
      expect(body.usage).toEqual({
        input_tokens: 10 + EDIT_INPUT_IMAGE_TOKENS.low,
        input_tokens_details: { text_tokens: 10, image_tokens: 323 },
        output_tokens: output,
        output_tokens_details: { image_tokens: output, text_tokens: 0 },
        total_tokens: 10 + 323 + output,
      });
      expect(azure.editRequests).toEqual([
        {
          request: azure.requests[0],
          fields: { prompt, quality: 'low' },
          files: [{ field: 'image', filename: 'wide.png', contentType: 'image/png', bytes: wide }],
        },
      ]);
      expect(azure.requests[0]!.body).toBeUndefined();
      expect(azure.requests[0]!.rawBody.includes(wide)).toBe(true);
      expect(azure.generationRequests).toEqual([]);
    });

    it('takes three `image[]` files of each type and a mask; the mask is not billed, high fidelity is', async () => {
      const jpeg = await image(300, 200, 'jpeg');
      const webp = await image(64, 64, 'webp');
      const mask = await image(1024, 1024);
      const response = await postForm(
        formOf([
          ['image[]', [square, 'a.png', 'image/png']],
          ['image[]', [jpeg, 'b.jpg', 'image/jpeg']],
          ['image[]', [webp, 'c.webp', 'image/webp']],
          ['mask', [mask, 'mask.png', 'image/png']],
          ['prompt', 'abcd'],
          ['input_fidelity', 'high'],
          ['n', '2'],
          ['size', '1024x1536'],
          ['quality', 'medium'],
          ['output_format', 'jpeg'],
          ['output_compression', '80'],
        ]),
      );

      expect(response.status).toBe(200);
      const body = (await response.json()) as ImagesAnswer;
      expect(body.data).toHaveLength(2);
      expect(await sharp(Buffer.from(body.data[1]!.b64_json, 'base64')).metadata()).toMatchObject({
        format: 'jpeg',
        width: 1024,
        height: 1536,
      });
      expect(body.usage.input_tokens_details).toEqual({ text_tokens: 1, image_tokens: 3 * 4096 });
      expect(body.usage.input_tokens).toBe(1 + 3 * 4096);
      expect(body.usage.output_tokens).toBe(2 * OUTPUT_TOKENS.medium!['1024x1536']!);
      const [recorded] = azure.editRequests;
      expect(recorded!.files.map(({ field, filename, contentType }) => [field, filename, contentType])).toEqual([
        ['image[]', 'a.png', 'image/png'],
        ['image[]', 'b.jpg', 'image/jpeg'],
        ['image[]', 'c.webp', 'image/webp'],
        ['mask', 'mask.png', 'image/png'],
      ]);
      expect(recorded!.files[1]!.bytes.equals(jpeg)).toBe(true);
      expect(recorded!.fields).toEqual({
        prompt: 'abcd',
        input_fidelity: 'high',
        n: '2',
        size: '1024x1536',
        quality: 'medium',
        output_format: 'jpeg',
        output_compression: '80',
      });
    });

    it('answers 1024x1024 for size auto when the first image is not a size it makes', async () => {
      const response = await postForm(
        formOf([
          ['image[]', [await image(300, 200, 'jpeg'), 'b.jpg', 'image/jpeg']],
          ['image[]', [wide, 'wide.png', 'image/png']],
          ['prompt', 'p'],
          ['size', 'auto'],
          ['quality', 'low'],
        ]),
      );

      expect(response.status).toBe(200);
      const body = (await response.json()) as ImagesAnswer;
      expect(body.size).toBe('1024x1024');
      expect(body.usage.input_tokens_details.image_tokens).toBe(2 * EDIT_INPUT_IMAGE_TOKENS.low);
    });

    it('streams image_edit.partial_image events, then image_edit.completed with the edit usage', async () => {
      const response = await postForm(
        formOf([
          ['image', [square, 'a.png', 'image/png']],
          ['prompt', 'abcdefgh'],
          ['quality', 'low'],
          ['stream', 'true'],
          ['partial_images', '2'],
        ]),
      );

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = await readEvents(response);
      expect(events.map(({ name }) => name)).toEqual([
        'image_edit.partial_image',
        'image_edit.partial_image',
        'image_edit.completed',
      ]);
      expect(events[1]!.data).toMatchObject({ type: 'image_edit.partial_image', partial_image_index: 1 });
      expect(events[0]!.data.usage).toBeUndefined();
      expect(events[2]!.data).toMatchObject({
        type: 'image_edit.completed',
        size: '1024x1024',
        usage: { input_tokens: 2 + 323, input_tokens_details: { text_tokens: 2, image_tokens: 323 } },
      });
    });

    it('edits on a gpt-image-2 deployment at high fidelity, and refuses input_fidelity there', async () => {
      const form = (...extra: Array<[string, string]>) =>
        formOf([['image', [square, 'a.png', 'image/png']], ['prompt', 'p'], ['quality', 'low'], ...extra]);

      const edited = await postForm(form(), { deployment: 'gpt-image-2' });
      const refused = await postForm(form(['input_fidelity', 'high']), { deployment: 'gpt-image-2' });

      expect(edited.status).toBe(200);
      expect(((await edited.json()) as ImagesAnswer).usage.input_tokens_details.image_tokens).toBe(
        EDIT_INPUT_IMAGE_TOKENS.high,
      );
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({
        error: { code: 'unsupported_parameter', param: 'input_fidelity' },
      });
    });

    it('checks the api-key and the deployment as for generations', async () => {
      const form = () =>
        formOf([
          ['image', [square, 'a.png', 'image/png']],
          ['prompt', 'p'],
        ]);

      expect((await postForm(form(), { apiKey: 'wrong-key' })).status).toBe(401);
      const deployment = await postForm(form(), { deployment: 'dall-e-3' });
      expect(deployment.status).toBe(404);
      expect(await deployment.json()).toMatchObject({ error: { code: 'DeploymentNotFound' } });
      expect(azure.unexpected).toEqual([]);
    });

    it('refuses a body that is not multipart, and multipart without a boundary', async () => {
      const json = await fetch(editUrl(), {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': API_KEY },
        body: JSON.stringify({ prompt: 'p', images: [{ image_url: 'data:image/png;base64,AAAA' }] }),
      });
      const noBoundary = await fetch(editUrl(), {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data', 'api-key': API_KEY },
        body: '--x\r\ncontent-disposition: form-data; name="prompt"\r\n\r\np\r\n--x--\r\n',
      });

      expect(json.status).toBe(400);
      expect(((await json.json()) as ErrorAnswer).error.message).toBe(
        "Unsupported content type: 'application/json'. This API method only accepts 'multipart/form-data'.",
      );
      expect(noBoundary.status).toBe(400);
      expect(((await noBoundary.json()) as ErrorAnswer).error.message).toMatch(/Could not parse multipart form/);
      expect(azure.editRequests).toEqual([]);
    });

    const text = Buffer.from('not an image at all, just text');
    type Parts = Array<[string, string | [Buffer, string, string]]>;
    /** Each refused form: why, its parts, the error code and param, and the message where it matters. */
    const refusals: Array<[string, () => Promise<Parts>, string, string, RegExp?]> = [
      [
        'a file sent as application/octet-stream',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'application/octet-stream']],
          ['prompt', 'p'],
        ],
        'unsupported_file_mimetype',
        'image',
        /^Invalid file 'image': unsupported mimetype \('application\/octet-stream'\)\. Supported file formats are 'image\/jpeg', 'image\/png', and 'image\/webp'\.$/,
      ],
      [
        'text bytes named x.png',
        async () => [
          ['image', [text, 'x.png', 'image/png']],
          ['prompt', 'p'],
        ],
        'invalid_image_file',
        'image',
      ],
      [
        'JPEG bytes declared as image/png',
        async () => [
          ['image[]', [await image(8, 8), 'a.png', 'image/png']],
          ['image[]', [await image(8, 8, 'jpeg'), 'b.png', 'image/png']],
          ['prompt', 'p'],
        ],
        'invalid_image_file',
        'image[1]',
      ],
      [
        'a mask of another size than the first image',
        async () => [
          ['image', [await image(64, 64), 'a.png', 'image/png']],
          ['mask', [await image(32, 64), 'mask.png', 'image/png']],
          ['prompt', 'p'],
        ],
        'invalid_value',
        'mask',
        /\(64x64\), got 32x64/,
      ],
      [
        'a JPEG mask',
        async () => [
          ['image', [await image(64, 64), 'a.png', 'image/png']],
          ['mask', [await image(64, 64, 'jpeg'), 'mask.jpg', 'image/jpeg']],
          ['prompt', 'p'],
        ],
        'unsupported_file_mimetype',
        'mask',
      ],
      [
        'a mask over 4 MB',
        async () => [
          ['image', [await image(64, 64), 'a.png', 'image/png']],
          ['mask', [Buffer.concat([await image(64, 64), Buffer.alloc(4 * 1024 * 1024)]), 'mask.png', 'image/png']],
          ['prompt', 'p'],
        ],
        'file_too_large',
        'mask',
      ],
      [
        'a model field (the deployment names the model)',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['model', 'gpt-image-1'],
        ],
        'unknown_parameter',
        'model',
      ],
      [
        'response_format',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['response_format', 'b64_json'],
        ],
        'unknown_parameter',
        'response_format',
      ],
      [
        'a missing prompt',
        async () => [['image', [await image(8, 8), 'a.png', 'image/png']]],
        'missing_required_parameter',
        'prompt',
      ],
      ['no image at all', async () => [['prompt', 'p']], 'missing_required_parameter', 'image'],
      [
        '`image` mixed with `image[]`',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['image[]', [await image(8, 8), 'b.png', 'image/png']],
          ['prompt', 'p'],
        ],
        'invalid_value',
        'image',
      ],
      [
        'a repeated plain `image`',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['image', [await image(8, 8), 'b.png', 'image/png']],
          ['prompt', 'p'],
        ],
        'duplicate_parameter',
        'image',
      ],
      [
        'an image sent as a text field',
        async () => [
          ['image[]', [await image(8, 8), 'a.png', 'image/png']],
          ['image[]', (await image(8, 8)).toString('base64')],
          ['prompt', 'p'],
        ],
        'invalid_type',
        'image[1]',
        /^Invalid type for 'image\[1\]': expected a file, but got a string\.$/,
      ],
      [
        'the prompt sent as a file',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', [Buffer.from('p'), 'prompt.txt', 'text/plain']],
        ],
        'invalid_type',
        'prompt',
      ],
      [
        '17 images',
        async () => {
          const png = await image(8, 8);
          return [
            ...Array.from({ length: 17 }, (_, index): [string, [Buffer, string, string]] => [
              'image[]',
              [png, `${index}.png`, 'image/png'],
            ]),
            ['prompt', 'p'],
          ];
        },
        'invalid_value',
        'image',
      ],
      [
        'n that is not a decimal integer',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['n', 'two'],
        ],
        'invalid_value',
        'n',
      ],
      [
        'an unknown input_fidelity',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['input_fidelity', 'max'],
        ],
        'invalid_value',
        'input_fidelity',
      ],
      [
        'stream that is not true or false',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['stream', 'yes'],
        ],
        'invalid_value',
        'stream',
      ],
      [
        'partial_images without stream',
        async () => [
          ['image', [await image(8, 8), 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['partial_images', '1'],
        ],
        'invalid_value',
        'partial_images',
      ],
    ];
    it.each(refusals.map(([name, parts, code, param, message]) => ({ name, parts, code, param, message })))(
      'refuses $name with 400 naming the field',
      async ({ parts, code, param, message }) => {
        const response = await postForm(formOf(await parts()));

        expect(response.status).toBe(400);
        const body = (await response.json()) as ErrorAnswer;
        expect(body).toMatchObject({ error: { code, param, type: 'invalid_request_error' } });
        if (message) expect(body.error.message).toMatch(message);
        expect(azure.editRequests).toHaveLength(1);
      },
    );

    it('records scripted answers too, such as the intermittent multipart refusal, then resumes', async () => {
      azure.enqueue({ status: 400, body: UNSUPPORTED_MULTIPART_BODY });
      const form = () =>
        formOf([
          ['image', [square, 'a.png', 'image/png']],
          ['prompt', 'p'],
          ['quality', 'low'],
        ]);

      const refused = await postForm(form());
      const retried = await postForm(form());

      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual(UNSUPPORTED_MULTIPART_BODY);
      expect(retried.status).toBe(200);
      expect(azure.editRequests.map(({ fields }) => fields)).toEqual([
        { prompt: 'p', quality: 'low' },
        { prompt: 'p', quality: 'low' },
      ]);
    });
  });
});
