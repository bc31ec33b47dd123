import { toFile } from 'openai';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import {
  EDIT_INPUT_IMAGE_TOKENS,
  FakeAzureOpenAiServer,
  OUTPUT_TOKENS,
  UNSUPPORTED_MULTIPART_BODY,
} from '../fakes/fake-azure-openai.server.js';
import {
  FakeVertexServer,
  GEMINI_INPUT_IMAGE_TOKENS,
  inputImagesOf,
  userPartKindsOf,
} from '../fakes/fake-vertex.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import {
  AZURE_KEY,
  startWithAzure,
  startWithVertex,
  type UpstreamApp,
  useUpstreamApp,
} from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const GPT_IMAGE_15 = 'azure/openai/gpt-image-1.5';
const GEMINI = 'vertex/google/gemini-2.5-flash-image';

const png = (width: number, height: number, alpha = 1) =>
  sharp({ create: { width, height, channels: 4, background: { r: 20, g: 120, b: 60, alpha } } })
    .png()
    .toBuffer();
const pngFile = async (bytes: Buffer, name = 'photo.png') => toFile(bytes, name, { type: 'image/png' });
const usdOf = (picoUsd: number) => String(picoUsd / 1e6);

interface SdkError {
  status: number;
  error: { param: string | null; code: string | null; type: string };
}
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as never,
    (error: unknown) => error as SdkError,
  );

describe('POST /v1/images/edits on Azure OpenAI (strict fake)', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;
  let dataSource: DataSource;

  useUpstreamApp(startWithAzure, (app: UpstreamApp<FakeAzureOpenAiServer>) => {
    ({ fake: azure, sut, key } = app);
    dataSource = sut.app.get(DataSource);
  });

  it('edits one image (gpt-image-1.5, b64_json): the upstream gets exactly its documented form, the input image is billed', async () => {
    const photo = await png(1024, 1024);
    const prompt = 'add a small red boat'; // 20 characters: 5 text tokens

    const { data: result, response } = await sut
      .openai(key)
      .images.edit({
        model: GPT_IMAGE_15,
        image: await pngFile(photo),
        prompt,
        size: '1024x1024',
        quality: 'low',
        response_format: 'b64_json',
      })
      .withResponse();

    expect(azure.editRequests).toHaveLength(1);
    const [edit] = azure.editRequests;
    expect(edit!.request.path).toBe('/openai/deployments/gpt-image-1.5/images/edits');
    expect(edit!.request.query.get('api-version')).toBe('2025-04-01-preview');
    expect(edit!.request.headers['api-key']).toBe(AZURE_KEY);
    expect(edit!.fields).toEqual({ prompt, n: '1', size: '1024x1024', quality: 'low', output_format: 'png' });
    expect(edit!.files).toEqual([{ field: 'image', filename: 'image-0.png', contentType: 'image/png', bytes: photo }]);
    const imageTokens = EDIT_INPUT_IMAGE_TOKENS.low;
    expect(result.usage?.input_tokens_details).toEqual({ text_tokens: 5, image_tokens: imageTokens });
    expect(await sharp(Buffer.from(result.data![0]!.b64_json!, 'base64')).metadata()).toMatchObject({ width: 1024 });
    // text 5 × $5, input image 323 × $8, output 272 × $32, per million
    expect(response.headers.get('x-easel-cost-usd')).toBe(
      usdOf(5 * 5 + imageTokens * 8 + OUTPUT_TOKENS.low!['1024x1024']! * 32),
    );
  });

  it('edits three images with a mask and input_fidelity (gpt-image-1.5, url): image[] parts, the mask, a usage record', async () => {
    const photos = [await png(1024, 1536), await png(512, 512), await png(300, 200)];
    const mask = await png(1024, 1536, 0);
    const prompt = 'put all three in one room';

    const { data: result, response } = await sut
      .openai(key)
      .images.edit({
        model: GPT_IMAGE_15,
        image: await Promise.all(photos.map((photo, i) => pngFile(photo, `p${i}.png`))),
        mask: await pngFile(mask, 'mask.png'),
        prompt,
        input_fidelity: 'high',
        quality: 'medium',
      })
      .withResponse();

    const [edit] = azure.editRequests;
    expect(edit!.request.path).toBe('/openai/deployments/gpt-image-1.5/images/edits');
    expect(edit!.fields).toEqual({ prompt, n: '1', quality: 'medium', output_format: 'png', input_fidelity: 'high' });
    expect(edit!.files.map(({ field, contentType, bytes }) => ({ field, contentType, bytes }))).toEqual([
      ...photos.map((bytes) => ({ field: 'image[]', contentType: 'image/png', bytes })),
      { field: 'mask', contentType: 'image/png', bytes: mask },
    ]);
    const download = await fetch(result.data![0]!.url!);
    expect(download.status).toBe(200);
    expect(await sharp(Buffer.from(await download.arrayBuffer())).metadata()).toMatchObject({
      width: 1024,
      height: 1536,
    });

    const requestId = response.headers.get('x-request-id')!;
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query('SELECT * FROM usage_records WHERE request_id = $1', [requestId]),
      (rows) => rows.length === 1,
    );
    const imageTokens = 3 * EDIT_INPUT_IMAGE_TOKENS.high;
    const textTokens = Math.ceil(prompt.length / 4);
    const outputTokens = OUTPUT_TOKENS.medium!['1024x1536']!;
    expect(record).toMatchObject({
      endpoint: 'images.edits',
      model: GPT_IMAGE_15,
      served_model: GPT_IMAGE_15,
      provider: 'azure-openai',
      status: 'success',
      input_images: 4,
      input_image_bytes: photos.reduce((sum, photo) => sum + photo.length, mask.length),
      input_image_tokens: imageTokens,
      input_text_tokens: textTokens,
      output_image_tokens: outputTokens,
    });
    // gpt-image-1.5: text $5, image in $8, image out $32 per million
    const cost = usdOf(textTokens * 5 + imageTokens * 8 + outputTokens * 32);
    expect(Number(record!.cost_usd)).toBe(Number(cost));
    expect(response.headers.get('x-easel-cost-usd')).toBe(cost);
  });

  it("streams Azure's image_edit events through, with stream and partial_images in the form", async () => {
    const stream = await sut.openai(key).images.edit({
      model: GPT_IMAGE_15,
      image: await pngFile(await png(1024, 1024)),
      prompt: 'a sunrise',
      stream: true,
      partial_images: 1,
    });

    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(['image_edit.partial_image', 'image_edit.completed']);
    expect(azure.editRequests[0]!.fields).toMatchObject({ stream: 'true', partial_images: '1' });
  });

  it('refuses, before any upstream call and naming the part: 17 images, a 0-byte file, a text file named x.png, a mask of another size', async () => {
    const photo = await pngFile(await png(64, 64));
    const edit = (image: Awaited<ReturnType<typeof pngFile>>[], mask?: Awaited<ReturnType<typeof pngFile>>) =>
      failure(sut.openai(key).images.edit({ model: GPT_IMAGE_15, image, prompt: 'x', ...(mask ? { mask } : {}) }));

    const refusals = [
      await edit(Array.from({ length: 17 }, () => photo)),
      await edit([photo, await toFile(Buffer.alloc(0), 'empty.png', { type: 'image/png' })]),
      await edit([photo, await toFile(Buffer.from('I am a text file'), 'x.png', { type: 'image/png' })]),
      await edit([photo], await pngFile(await png(32, 64, 0), 'mask.png')),
    ];

    expect(refusals.map(({ status, error }) => [status, error.param])).toEqual([
      [400, 'image[16]'],
      [400, 'image[1]'],
      [400, 'image[1]'],
      [400, 'mask'],
    ]);
    expect(azure.requests).toEqual([]);
  });

  it('retries the intermittent "Unsupported content type: multipart/form-data" refusal, and answers', async () => {
    azure.enqueue({ status: 400, body: UNSUPPORTED_MULTIPART_BODY });

    const result = await sut.openai(key).images.edit({
      model: GPT_IMAGE_15,
      image: await pngFile(await png(1024, 1024)),
      prompt: 'again',
      response_format: 'b64_json',
    });

    expect(result.data).toHaveLength(1);
    expect(azure.editRequests).toHaveLength(2);
  });
});

describe('POST /v1/images/edits over the upload limit (Azure)', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    sut = await createTestApp({
      env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY, UPLOAD_MAX_FILE_BYTES: '65536' },
    });
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
    await azure.stop();
  });

  it('answers 413 file_too_large naming the file, with no upstream call', async () => {
    const large = Buffer.concat([await png(8, 8), Buffer.alloc(70_000)]);

    const error = await failure(
      sut.openai(key).images.edit({
        model: GPT_IMAGE_15,
        image: [await pngFile(await png(8, 8)), await pngFile(large)],
        prompt: 'x',
      }),
    );

    expect([error.status, error.error.code, error.error.param]).toEqual([413, 'file_too_large', 'image[1]']);
    expect(azure.requests).toEqual([]);
  });
});

describe('POST /v1/images/edits on Gemini (Vertex AI, strict fake)', () => {
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app));

  it('sends the prompt, then each image as inlineData with its real type; bills the image prompt tokens', async () => {
    const photos = [
      await png(640, 480),
      await sharp(await png(200, 300))
        .jpeg()
        .toBuffer(),
      await sharp(await png(64, 64))
        .webp()
        .toBuffer(),
    ];
    const prompt = 'make it a postcard';

    const { data: result, response } = await sut
      .openai(key)
      .images.edit({
        model: GEMINI,
        image: await Promise.all(
          photos.map((photo, i) => toFile(photo, `p${i}`, { type: 'application/octet-stream' })),
        ),
        prompt,
        size: '1536x1024',
        response_format: 'b64_json',
      })
      .withResponse();

    expect(vertex.generationRequests).toHaveLength(1);
    const [call] = vertex.generationRequests;
    expect(userPartKindsOf(call!)).toEqual(['text', 'image', 'image', 'image']);
    expect(inputImagesOf(call!).map(({ mimeType, bytes }) => ({ mimeType, bytes }))).toEqual([
      { mimeType: 'image/png', bytes: photos[0] },
      { mimeType: 'image/jpeg', bytes: photos[1] },
      { mimeType: 'image/webp', bytes: photos[2] },
    ]);
    expect(call!.body).toEqual({
      contents: [
        {
          role: 'user',
          parts: [
            { text: prompt },
            ...photos.map((photo, i) => ({
              inlineData: { mimeType: ['image/png', 'image/jpeg', 'image/webp'][i], data: photo.toString('base64') },
            })),
          ],
        },
      ],
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '3:2' } },
    });
    expect(result.usage?.input_tokens_details?.image_tokens).toBe(3 * GEMINI_INPUT_IMAGE_TOKENS);
    expect(Number(response.headers.get('x-easel-cost-usd'))).toBeGreaterThan(0);
  });

  it('answers a URL for one image', async () => {
    const result = await sut
      .openai(key)
      .images.edit({ model: GEMINI, image: await pngFile(await png(100, 100)), prompt: 'snow' });

    expect((await fetch(result.data![0]!.url!)).status).toBe(200);
    expect(inputImagesOf(vertex.generationRequests[0]!)).toHaveLength(1);
  });

  it('refuses a mask (Gemini has none), a fourth image and input_fidelity, with no upstream call', async () => {
    const photo = await pngFile(await png(64, 64));
    const edit = (extra: object, images = [photo]) =>
      failure(sut.openai(key).images.edit({ model: GEMINI, image: images, prompt: 'x', ...extra }));

    const refusals = [
      await edit({ mask: await pngFile(await png(64, 64, 0), 'mask.png') }),
      await edit({}, [photo, photo, photo, photo]),
      await edit({ input_fidelity: 'high' }),
      await edit({ stream: true }),
    ];

    expect(refusals.map(({ status, error }) => [status, error.param, error.code])).toEqual([
      [400, 'mask', 'unsupported_parameter'],
      [400, 'image[3]', 'invalid_value'],
      [400, 'input_fidelity', 'unsupported_parameter'],
      [400, 'stream', 'invalid_value'],
    ]);
    expect(vertex.requests).toEqual([]);
  });
});
