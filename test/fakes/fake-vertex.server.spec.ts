import sharp from 'sharp';
import { Agent, fetch } from 'undici';
import {
  FakeGeminiApiServer,
  FakeVertexServer,
  GEMINI_3_IMAGE_SIZES,
  GEMINI_IMAGE_SIZES,
  GEMINI_INPUT_IMAGE_TOKENS,
  GEMINI_MODELS,
  googleError,
  IMAGE_SAFETY_REFUSAL,
  inputImagesOf,
  INTERNAL_ERROR,
  PROMPT_BLOCKED,
  RESOURCE_EXHAUSTED,
  userPartKindsOf,
} from './fake-vertex.server.js';

const TOKEN = 'ya29.fake-access-token';
const PROJECT = 'easel-test';
const LOCATION = 'us-central1';
const MODEL = 'gemini-2.5-flash-image';
const PRO = 'gemini-3-pro-image';
const LITE = 'gemini-3.1-flash-lite-image';
const API_KEY = 'AIza-fake-gemini-api-key';

/** The JSON body, loosely typed for assertions. */
const json = (response: Response): Promise<any> => response.json();

/** Reads an SSE body into its `data:` payloads; rejects if the connection breaks. */
async function readSse(response: Response): Promise<{ raw: string; events: any[] }> {
  const raw = await response.text();
  const events = raw
    .split('\r\n\r\n')
    .filter((block) => block.length > 0)
    .map((block) => {
      expect(block.startsWith('data: ')).toBe(true);
      return JSON.parse(block.slice('data: '.length));
    });
  return { raw, events };
}

describe('FakeVertexServer (the fake itself)', () => {
  let vertex: FakeVertexServer;
  /** Its own connection pool, closed at the end, so no socket outlives the file. */
  const agent = new Agent();

  const url = (
    method: 'generateContent' | 'streamGenerateContent',
    overrides: { project?: string; location?: string; model?: string } = {},
  ) =>
    `${vertex.baseUrl}/v1/projects/${overrides.project ?? PROJECT}/locations/${overrides.location ?? LOCATION}/publishers/google/models/${
      overrides.model ?? MODEL
    }:${method}${method === 'streamGenerateContent' ? '?alt=sse' : ''}`;

  const post = (target: string, body: unknown, token: string | null = TOKEN) =>
    fetch(target, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const prompt = (text: string, extra: Record<string, unknown> = {}) => ({
    contents: [{ role: 'user', parts: [{ text }] }],
    ...extra,
  });

  beforeAll(async () => {
    vertex = await new FakeVertexServer({
      accessToken: TOKEN,
      project: PROJECT,
      location: LOCATION,
      models: [MODEL, PRO, LITE],
    }).start();
  });

  beforeEach(() => vertex.reset());

  afterAll(async () => {
    await vertex.stop();
    await agent.destroy();
  });

  describe('auth and routing', () => {
    it('answers 401 UNAUTHENTICATED without a token and with a wrong one', async () => {
      const missing = await post(url('generateContent'), prompt('a cat'), null);
      expect(missing.status).toBe(401);
      const missingBody = await json(missing);
      expect(missingBody.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
      expect(missingBody.error.message).toMatch(/missing required authentication credential/);

      const wrong = await post(url('generateContent'), prompt('a cat'), 'not-the-token');
      expect(wrong.status).toBe(401);
      const wrongBody = await json(wrong);
      expect(wrongBody.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
      expect(wrongBody.error.message).toMatch(/^Request had invalid authentication credentials/);

      const basic = await fetch(url('generateContent'), {
        dispatcher: agent,
        method: 'POST',
        headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(prompt('a cat')),
      });
      expect(basic.status).toBe(401);
      expect(vertex.unexpected).toEqual([]);
    });

    it('answers 403 for another project, 404 for another location or an unknown model', async () => {
      const project = await post(url('generateContent', { project: 'someone-else' }), prompt('a cat'));
      expect(project.status).toBe(403);
      expect((await json(project)).error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });

      const location = await post(url('generateContent', { location: 'europe-west4' }), prompt('a cat'));
      expect(location.status).toBe(404);
      expect((await json(location)).error).toMatchObject({ code: 404, status: 'NOT_FOUND' });

      const model = await post(url('generateContent', { model: 'gemini-9-ultra' }), prompt('a cat'));
      expect(model.status).toBe(404);
      const modelBody = await json(model);
      expect(modelBody.error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
      expect(modelBody.error.message).toContain(
        `Publisher Model \`projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-9-ultra\` was not found`,
      );
      expect(vertex.generationRequests).toHaveLength(3);
      expect(vertex.unexpected).toEqual([]);
    });

    it('records unexpected routes and answers them 404', async () => {
      const wrongVersion = await post(url('generateContent').replace('/v1/', '/v1beta1/'), prompt('a cat'));
      expect(wrongVersion.status).toBe(404);
      const get = await fetch(url('generateContent'), {
        dispatcher: agent,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(get.status).toBe(404);
      const predict = await post(url('generateContent').replace(':generateContent', ':predict'), prompt('a cat'));
      expect(predict.status).toBe(404);
      expect(vertex.unexpected).toEqual([
        `POST /v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${MODEL}:generateContent`,
        `GET /v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${MODEL}:generateContent`,
        `POST /v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${MODEL}:predict`,
      ]);
      expect(vertex.generationRequests).toHaveLength(1);
    });

    it('rejects streamGenerateContent without alt=sse', async () => {
      const response = await post(url('streamGenerateContent').replace('?alt=sse', ''), prompt('a cat'));
      expect(response.status).toBe(400);
      expect((await json(response)).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    });
  });

  describe('body validation', () => {
    const rejects = async (body: unknown, message: RegExp | string) => {
      const response = await post(url('generateContent'), body);
      expect(response.status).toBe(400);
      const { error } = await json(response);
      expect(error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(error.details[0]['@type']).toBe('type.googleapis.com/google.rpc.BadRequest');
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
      return error;
    };

    it('names an unknown top-level field like Google does', async () => {
      const error = await rejects(
        prompt('a cat', { foo: 1 }),
        'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
      );
      expect(error.details[0].fieldViolations[0].description).toBe(error.message);
    });

    it('names an unknown nested field with its proto path', async () => {
      await rejects(
        prompt('a cat', { generationConfig: { imageConfig: { aspectRatio: '1:1', size: '2K' } } }),
        `Invalid JSON payload received. Unknown name "size" at 'generation_config.image_config': Cannot find field.`,
      );
      await rejects(
        prompt('a cat', { generationConfig: { n: 2 } }),
        `Invalid JSON payload received. Unknown name "n" at 'generation_config': Cannot find field.`,
      );
      await rejects(
        { contents: [{ role: 'user', parts: [{ text: 'a', image_url: 'x' }] }] },
        `Invalid JSON payload received. Unknown name "image_url" at 'contents[0].parts[0]': Cannot find field.`,
      );
    });

    it('rejects lower-case response modalities', async () => {
      await rejects(
        prompt('a cat', { generationConfig: { responseModalities: ['text', 'image'] } }),
        /generation_config\.response_modalities\[0\].*"text"/,
      );
      await rejects(prompt('a cat', { generationConfig: { responseModalities: [] } }), /response_modalities/);
    });

    it('checks contents, roles, parts and inline images', async () => {
      await rejects({}, /contents/);
      await rejects({ contents: [] }, /contents/);
      await rejects({ contents: [{ parts: [{ text: 'a cat' }] }] }, /valid role.*contents\[0\]\.role/);
      await rejects({ contents: [{ role: 'assistant', parts: [{ text: 'a cat' }] }] }, /valid role/);
      await rejects({ contents: [{ role: 'user', parts: [] }] }, /parts/);
      await rejects({ contents: [{ role: 'user', parts: [{ text: 5 }] }] }, /contents\[0\]\.parts\[0\]\.text/);
      const png = (
        await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
          .png()
          .toBuffer()
      ).toString('base64');
      const image = (data: string, mimeType = 'image/png') => ({ inlineData: { mimeType, data } });
      await rejects(
        { contents: [{ role: 'user', parts: [{ text: 'x', inlineData: image(png).inlineData }] }] },
        /Oneof field/,
      );
      await rejects({ contents: [{ role: 'user', parts: [image(png, 'image/gif')] }] }, /image\/gif/);
      await rejects(
        { contents: [{ role: 'user', parts: [image(`data:image/png;base64,${png}`)] }] },
        /Base64 decoding failed/,
      );
      await rejects(
        { contents: [{ role: 'user', parts: [image(Buffer.from('hello').toString('base64'))] }] },
        /not valid/,
      );
      await rejects(
        { contents: [{ role: 'user', parts: [image(png), image(png), image(png), image(png), { text: 'merge' }] }] },
        /too many images/,
      );
      const ok = await post(url('generateContent'), {
        contents: [{ role: 'user', parts: [image(png), image(png), image(png), { text: 'merge' }] }],
      });
      expect(ok.status).toBe(200);
    });

    it('refuses imageSize on gemini-2.5-flash-image, which has no size tiers', async () => {
      const error = await rejects(
        prompt('a cat', { generationConfig: { imageConfig: { imageSize: '1K' } } }),
        /image size "1K" at 'generation_config\.image_config\.image_size' is not supported by gemini-2\.5-flash-image/,
      );
      expect(error.details[0].fieldViolations[0].field).toBe('generation_config.image_config.image_size');
    });

    it('checks generationConfig ranges and systemInstruction', async () => {
      await rejects(prompt('a', { generationConfig: { imageConfig: { aspectRatio: '7:3' } } }), /aspect_ratio/);
      await rejects(prompt('a', { generationConfig: { candidateCount: 9 } }), /candidate_count/);
      await rejects(prompt('a', { generationConfig: { candidateCount: 1.5 } }), /candidate_count/);
      await rejects(prompt('a', { generationConfig: { temperature: 2.5 } }), /temperature/);
      await rejects(prompt('a', { generationConfig: { topP: 1.5 } }), /topP/);
      await rejects(prompt('a', { generationConfig: { maxOutputTokens: 0 } }), /maxOutputTokens/);
      await rejects(prompt('a', { generationConfig: { seed: 'x' } }), /generation_config\.seed/);
      await rejects(
        prompt('a', { systemInstruction: { parts: [{ text: 'be nice' }], foo: 1 } }),
        /Unknown name "foo" at 'system_instruction'/,
      );
      const ok = await post(
        url('generateContent'),
        prompt('a', {
          systemInstruction: { parts: [{ text: 'be nice' }] },
          safetySettings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'BLOCK_ONLY_HIGH' }],
          generationConfig: {
            responseModalities: ['IMAGE'],
            temperature: 0,
            topP: 1,
            maxOutputTokens: 100,
            seed: 42,
            candidateCount: 1,
          },
        }),
      );
      expect(ok.status).toBe(200);
    });
  });

  describe('success', () => {
    it('answers a real PNG of 1344x768 for 16:9 and the documented usage', async () => {
      const text = 'a lighthouse at dawn, watercolour style';
      const response = await post(
        url('generateContent'),
        prompt(text, {
          generationConfig: { responseModalities: ['TEXT', 'IMAGE'], imageConfig: { aspectRatio: '16:9' } },
        }),
      );
      expect(response.status).toBe(200);
      const body = await json(response);
      expect(body.modelVersion).toBe('gemini-2.5-flash-image');
      expect(typeof body.responseId).toBe('string');
      expect(typeof body.createTime).toBe('string');
      expect(body.candidates).toHaveLength(1);
      const [candidate] = body.candidates;
      expect(candidate).toMatchObject({ finishReason: 'STOP', index: 0, content: { role: 'model' } });
      const [textPart, imagePart] = candidate.content.parts;
      expect(textPart.text).toBe(`Here is your image: ${text.slice(0, 30)}`);
      expect(imagePart.inlineData.mimeType).toBe('image/png');
      const metadata = await sharp(Buffer.from(imagePart.inlineData.data, 'base64')).metadata();
      expect(metadata).toMatchObject({ format: 'png', width: 1344, height: 768 });
      expect(GEMINI_IMAGE_SIZES['16:9']).toEqual({ width: 1344, height: 768 });

      const promptTokens = Math.ceil(text.length / 4);
      const outputText = Math.ceil(textPart.text.length / 4);
      expect(body.usageMetadata).toMatchObject({
        promptTokenCount: promptTokens,
        candidatesTokenCount: outputText + 1290,
        totalTokenCount: promptTokens + outputText + 1290,
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
        candidatesTokensDetails: [
          { modality: 'TEXT', tokenCount: outputText },
          { modality: 'IMAGE', tokenCount: 1290 },
        ],
      });
    });

    it('defaults to 1:1, counts input images and answers every candidate', async () => {
      const png = (
        await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
          .png()
          .toBuffer()
      ).toString('base64');
      const body = {
        systemInstruction: { parts: [{ text: 'abcd' }] },
        contents: [
          { role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: png } }, { text: 'make it blue' }] },
        ],
        generationConfig: { candidateCount: 3, responseModalities: ['IMAGE'] },
      };
      const response = await post(url('generateContent'), body);
      expect(response.status).toBe(200);
      const result = await json(response);
      expect(result.candidates.map((candidate: any) => candidate.index)).toEqual([0, 1, 2]);
      for (const candidate of result.candidates) {
        expect(candidate.content.parts).toHaveLength(1);
        const metadata = await sharp(Buffer.from(candidate.content.parts[0].inlineData.data, 'base64')).metadata();
        expect(metadata).toMatchObject({ width: 1024, height: 1024 });
      }
      const textTokens = Math.ceil(('abcd'.length + 'make it blue'.length) / 4);
      expect(result.usageMetadata).toMatchObject({
        promptTokenCount: textTokens + 258,
        promptTokensDetails: [
          { modality: 'TEXT', tokenCount: textTokens },
          { modality: 'IMAGE', tokenCount: 258 },
        ],
        candidatesTokenCount: 3 * 1290,
        candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 3 * 1290 }],
        totalTokenCount: textTokens + 258 + 3 * 1290,
      });
    });
  });

  describe('streaming', () => {
    it('streams text in two chunks, the image, then STOP with usage, without [DONE]', async () => {
      const response = await post(
        url('streamGenerateContent'),
        prompt('a red bicycle', { generationConfig: { imageConfig: { aspectRatio: '9:16' } } }),
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const { raw, events } = await readSse(response);
      expect(raw).not.toContain('[DONE]');
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events).toHaveLength(4);
      const texts = events.slice(0, 2).map((event) => event.candidates[0].content.parts[0].text);
      expect(texts.join('')).toBe('Here is your image: a red bicycle');
      expect(events.every((event) => event.modelVersion === 'gemini-2.5-flash-image')).toBe(true);
      const image = events[2].candidates[0].content.parts[0].inlineData;
      expect(await sharp(Buffer.from(image.data, 'base64')).metadata()).toMatchObject({ width: 768, height: 1344 });
      const last = events[events.length - 1];
      expect(last.candidates[0].finishReason).toBe('STOP');
      expect(last.usageMetadata.candidatesTokenCount).toBe(Math.ceil(texts.join('').length / 4) + 1290);
      expect(events.slice(0, -1).some((event) => event.usageMetadata || event.candidates[0].finishReason)).toBe(false);
    });

    it('streams every candidate index', async () => {
      const response = await post(
        url('streamGenerateContent'),
        prompt('a boat', { generationConfig: { candidateCount: 2 } }),
      );
      const { events } = await readSse(response);
      expect(events).toHaveLength(8);
      expect(events.map((event) => event.candidates[0].index)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
      expect(events.filter((event) => event.candidates[0].finishReason === 'STOP')).toHaveLength(2);
      expect(events[7].usageMetadata.candidatesTokensDetails).toContainEqual({ modality: 'IMAGE', tokenCount: 2580 });
    });

    it('validates streaming requests like unary ones', async () => {
      const response = await post(
        url('streamGenerateContent'),
        prompt('a', { generationConfig: { responseModalities: ['image'] } }),
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('plays scripted events and cuts the connection after failAfter events', async () => {
      vertex.enqueueStream(
        [
          { candidates: [{ content: { role: 'model', parts: [{ text: 'one' }] }, index: 0 }] },
          { candidates: [{ content: { role: 'model', parts: [{ text: 'two' }] }, index: 0 }] },
          { candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index: 0 }] },
        ],
        { failAfter: 2 },
      );
      const response = await post(url('streamGenerateContent'), prompt('a cat'));
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let received = '';
      let failure: unknown;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += decoder.decode(value, { stream: true });
        }
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeDefined();
      expect(received).toContain('"one"');
      expect(received).toContain('"two"');
      expect(received).not.toContain('STOP');

      // The script is used up: the next stream is the normal one again.
      const again = await readSse(await post(url('streamGenerateContent'), prompt('a cat')));
      expect(again.events.at(-1).candidates[0].finishReason).toBe('STOP');
    });

    it('plays all scripted events and ends normally without failAfter', async () => {
      vertex.enqueueStream([IMAGE_SAFETY_REFUSAL]);
      const { events } = await readSse(await post(url('streamGenerateContent'), prompt('a cat')));
      expect(events).toEqual([IMAGE_SAFETY_REFUSAL]);
    });
  });

  describe('scripted responses', () => {
    it('returns an enqueued PROMPT_BLOCKED, as JSON for unary and as one SSE event when streaming', async () => {
      vertex.enqueue({ status: 200, body: PROMPT_BLOCKED }, { status: 200, body: PROMPT_BLOCKED });
      const unary = await post(url('generateContent'), prompt('something bad'));
      expect(unary.status).toBe(200);
      const body = await json(unary);
      expect(body).toEqual(PROMPT_BLOCKED);
      expect(body.candidates).toBeUndefined();
      expect(body.promptFeedback.blockReason).toBe('PROHIBITED_CONTENT');

      const stream = await post(url('streamGenerateContent'), prompt('something bad'));
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect((await readSse(stream)).events).toEqual([PROMPT_BLOCKED]);
    });

    it('returns enqueued Google errors', async () => {
      vertex.enqueue({ status: 429, body: RESOURCE_EXHAUSTED }, { status: 500, body: INTERNAL_ERROR });
      const limited = await post(url('generateContent'), prompt('a cat'));
      expect(limited.status).toBe(429);
      const limitedBody = await json(limited);
      expect(limitedBody.error.status).toBe('RESOURCE_EXHAUSTED');
      expect(limitedBody.error.details).toContainEqual({
        '@type': 'type.googleapis.com/google.rpc.RetryInfo',
        retryDelay: '3s',
      });
      const broken = await post(url('streamGenerateContent'), prompt('a cat'));
      expect(broken.status).toBe(500);
      expect((await json(broken)).error.status).toBe('INTERNAL');
    });
  });

  describe('edits: input images as inlineData', () => {
    const encoded = async (format: 'png' | 'jpeg' | 'webp', width = 16, height = 16) =>
      (
        await sharp({ create: { width, height, channels: 3, background: '#3a7' } })
          .toFormat(format)
          .toBuffer()
      ).toString('base64');
    const inline = (mimeType: string, data: string) => ({ inlineData: { mimeType, data } });

    it('takes PNG, JPEG and WebP images before the prompt, bills each input image and records them in order', async () => {
      const [png, jpeg, webp] = [await encoded('png'), await encoded('jpeg', 40, 30), await encoded('webp')];
      const text = 'put them side by side';
      const response = await post(url('generateContent'), {
        contents: [
          {
            role: 'user',
            parts: [inline('image/png', png), inline('image/jpeg', jpeg), inline('image/webp', webp), { text }],
          },
        ],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '4:3' } },
      });

      expect(response.status).toBe(200);
      const body = await json(response);
      const output = body.candidates[0].content.parts[0].inlineData;
      expect(await sharp(Buffer.from(output.data, 'base64')).metadata()).toMatchObject({ width: 1184, height: 864 });
      const textTokens = Math.ceil(text.length / 4);
      expect(GEMINI_INPUT_IMAGE_TOKENS).toBe(258);
      expect(body.usageMetadata).toMatchObject({
        promptTokenCount: textTokens + 3 * 258,
        promptTokensDetails: [
          { modality: 'TEXT', tokenCount: textTokens },
          { modality: 'IMAGE', tokenCount: 3 * 258 },
        ],
        candidatesTokenCount: 1290,
        totalTokenCount: textTokens + 3 * 258 + 1290,
      });
      const [request] = vertex.generationRequests;
      expect(userPartKindsOf(request!)).toEqual(['image', 'image', 'image', 'text']);
      expect(inputImagesOf(request!)).toEqual([
        { contentIndex: 0, partIndex: 0, role: 'user', mimeType: 'image/png', bytes: Buffer.from(png, 'base64') },
        { contentIndex: 0, partIndex: 1, role: 'user', mimeType: 'image/jpeg', bytes: Buffer.from(jpeg, 'base64') },
        { contentIndex: 0, partIndex: 2, role: 'user', mimeType: 'image/webp', bytes: Buffer.from(webp, 'base64') },
      ]);
    });

    it('accepts the prompt before the image too, and records that order', async () => {
      const png = await encoded('png');
      const response = await post(url('generateContent'), {
        contents: [{ role: 'user', parts: [{ text: 'make it red' }, inline('image/png', png)] }],
      });

      expect(response.status).toBe(200);
      expect(userPartKindsOf(vertex.generationRequests[0]!)).toEqual(['text', 'image']);
      expect(inputImagesOf(vertex.generationRequests[0]!)).toMatchObject([{ partIndex: 1, mimeType: 'image/png' }]);
    });

    it('counts input images in the usage of the last streamed event', async () => {
      const png = await encoded('png');
      const response = await post(url('streamGenerateContent'), {
        contents: [{ role: 'user', parts: [inline('image/png', png), inline('image/png', png), { text: 'abcd' }] }],
        generationConfig: { responseModalities: ['IMAGE'] },
      });

      const { events } = await readSse(response);
      expect(events.at(-1).usageMetadata).toMatchObject({
        promptTokenCount: 1 + 2 * 258,
        promptTokensDetails: [
          { modality: 'TEXT', tokenCount: 1 },
          { modality: 'IMAGE', tokenCount: 2 * 258 },
        ],
      });
    });

    it('rejects a mimeType the bytes are not, naming the part', async () => {
      const png = await encoded('png');
      const jpeg = await encoded('jpeg');
      const response = await post(url('generateContent'), {
        contents: [{ role: 'user', parts: [inline('image/png', png), inline('image/png', jpeg), { text: 'merge' }] }],
      });

      expect(response.status).toBe(400);
      const { error } = await json(response);
      expect(error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(error.message).toMatch(/'contents\[0\]\.parts\[1\]\.inline_data\.data' holds image\/jpeg bytes/);
      expect(error.details[0].fieldViolations[0].field).toBe('contents[0].parts[1].inline_data.mime_type');
    });

    it('rejects four images for gemini-2.5-flash-image, and the aspect ratio outside imageConfig', async () => {
      const png = await encoded('png');
      const four = await post(url('generateContent'), {
        contents: [
          { role: 'user', parts: [...Array.from({ length: 4 }, () => inline('image/png', png)), { text: 'x' }] },
        ],
      });
      const misplaced = await post(url('generateContent'), {
        contents: [{ role: 'user', parts: [inline('image/png', png), { text: 'x' }] }],
        generationConfig: { aspectRatio: '16:9' },
      });

      expect(four.status).toBe(400);
      const { error } = await json(four);
      expect(error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(error.message).toMatch(/too many images: 4 were given, but gemini-2\.5-flash-image accepts at most 3/);
      expect(misplaced.status).toBe(400);
      expect((await json(misplaced)).error.message).toBe(
        `Invalid JSON payload received. Unknown name "aspectRatio" at 'generation_config': Cannot find field.`,
      );
    });
  });

  describe('Gemini 3 image models: each as strict as its profile', () => {
    const image = (generationConfig: Record<string, unknown> = {}, text = 'a fox') =>
      prompt(text, { generationConfig: { responseModalities: ['IMAGE'], ...generationConfig } });
    const on = (model: string, location = 'global') => url('generateContent', { model, location });

    it('serves them on global; 3 Pro Image in US regions too, 3.1 Flash Lite Image only on global', async () => {
      expect((await post(on(PRO), image())).status).toBe(200);
      expect((await post(on(PRO, LOCATION), image())).status).toBe(200);
      expect((await post(on(LITE), image())).status).toBe(200);

      const regional = await post(on(LITE, LOCATION), image());
      expect(regional.status).toBe(404);
      expect((await json(regional)).error.message).toContain(
        `locations/${LOCATION}/publishers/google/models/${LITE}\``,
      );
    });

    it.each([PRO, LITE])('rejects candidateCount 2 on %s with 400, as Google does, and takes 1', async (model) => {
      const response = await post(on(model), image({ candidateCount: 2 }));

      expect(response.status).toBe(400);
      const { error } = await json(response);
      expect(error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(error.message).toContain(`${model} generates one candidate per request`);
      expect(error.details[0].fieldViolations[0].field).toBe('generation_config.candidate_count');
      expect((await post(on(model), image({ candidateCount: 1 }))).status).toBe(200);
    });

    it.each<[string, '1K' | '2K' | '4K', '16:9' | '21:9' | '3:4' | '1:1', number]>([
      [PRO, '1K', '16:9', 1120],
      [PRO, '2K', '16:9', 1120],
      [PRO, '4K', '21:9', 2000],
      [LITE, '1K', '3:4', 1120],
    ])(
      'answers %s at %s and %s in the tier’s pixels, billing its IMAGE tokens',
      async (model, imageSize, aspectRatio, tokens) => {
        const response = await post(on(model), image({ imageConfig: { aspectRatio, imageSize } }));

        expect(response.status).toBe(200);
        const body = await json(response);
        expect(body.modelVersion).toBe(model);
        const data = Buffer.from(body.candidates[0].content.parts[0].inlineData.data, 'base64');
        const { width, height } = GEMINI_3_IMAGE_SIZES[aspectRatio][imageSize];
        expect(await sharp(data).metadata()).toMatchObject({ format: 'png', width, height });
        expect(body.usageMetadata.candidatesTokensDetails).toEqual([{ modality: 'IMAGE', tokenCount: tokens }]);
        expect(body.usageMetadata.candidatesTokenCount).toBe(tokens);
      },
    );

    it('makes 2752x1536 for 2K at 16:9, and 1K (1376x768) when no tier is asked', async () => {
      const twoK = await json(await post(on(PRO), image({ imageConfig: { aspectRatio: '16:9', imageSize: '2K' } })));
      const oneK = await json(await post(on(PRO), image({ imageConfig: { aspectRatio: '16:9' } })));

      const sizeOf = async (body: any) =>
        sharp(Buffer.from(body.candidates[0].content.parts[0].inlineData.data, 'base64')).metadata();
      expect(await sizeOf(twoK)).toMatchObject({ width: 2752, height: 1536 });
      expect(await sizeOf(oneK)).toMatchObject({ width: 1376, height: 768 });
    });

    it.each<[string, unknown]>([
      [LITE, '2K'],
      [LITE, '4K'],
      [PRO, '512'],
      [PRO, '1k'],
      [PRO, 2],
    ])('rejects %s with imageSize %j', async (model, imageSize) => {
      const response = await post(on(model), image({ imageConfig: { imageSize } }));

      expect(response.status).toBe(400);
      const { error } = await json(response);
      expect(error.message).toContain(`is not supported by ${model}`);
      expect(error.details[0].fieldViolations[0].field).toBe('generation_config.image_config.image_size');
    });

    it('bills input images at the model’s rate and holds each model to its input image limit', async () => {
      const png = (
        await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0a0' } })
          .png()
          .toBuffer()
      ).toString('base64');
      const withImages = (count: number) => ({
        contents: [
          {
            role: 'user',
            parts: [
              { text: 'abcd' },
              ...Array.from({ length: count }, () => ({ inlineData: { mimeType: 'image/png', data: png } })),
            ],
          },
        ],
        generationConfig: { responseModalities: ['IMAGE'] },
      });

      const pro = await json(await post(on(PRO), withImages(14)));
      const lite = await json(await post(on(LITE), withImages(3)));
      const tooManyForPro = await post(on(PRO), withImages(15));
      const tooManyForLite = await post(on(LITE), withImages(4));

      expect(pro.usageMetadata.promptTokensDetails).toEqual([
        { modality: 'TEXT', tokenCount: 1 },
        { modality: 'IMAGE', tokenCount: 14 * 560 },
      ]);
      expect(lite.usageMetadata.promptTokensDetails).toContainEqual({ modality: 'IMAGE', tokenCount: 3 * 1120 });
      expect(GEMINI_MODELS[PRO]!.inputImageTokens).toBe(560);
      expect(tooManyForPro.status).toBe(400);
      expect((await json(tooManyForPro)).error.message).toMatch(
        /15 were given, but gemini-3-pro-image accepts at most 14/,
      );
      expect(tooManyForLite.status).toBe(400);
    });
  });

  describe('failCall: the k-th model call of a test fails', () => {
    it('answers the k-th call with the scripted response, the others as usual', async () => {
      vertex.failCall(2, googleError(500, 'INTERNAL', 'Internal error encountered.'));

      const statuses: number[] = [];
      for (let call = 0; call < 3; call++) statuses.push((await post(url('generateContent'), prompt('a cat'))).status);

      expect(statuses).toEqual([200, 500, 200]);
    });

    it('refuses an invalid k-th call as invalid, and streams a 200 body as one SSE event', async () => {
      vertex.failCall(1, { status: 200, body: IMAGE_SAFETY_REFUSAL });
      vertex.failCall(2, { status: 200, body: IMAGE_SAFETY_REFUSAL });

      const invalid = await post(url('streamGenerateContent'), prompt('a cat', { foo: 1 }));
      const refused = await post(url('streamGenerateContent'), prompt('a cat'));

      expect(invalid.status).toBe(400);
      expect((await readSse(refused)).events).toEqual([IMAGE_SAFETY_REFUSAL]);
    });

    it('forgets the failures on reset', async () => {
      vertex.failCall(1, googleError(500, 'INTERNAL', 'Internal error encountered.'));
      vertex.reset();

      expect((await post(url('generateContent'), prompt('a cat'))).status).toBe(200);
    });
  });
});

describe('FakeGeminiApiServer (the fake itself)', () => {
  const NANO = 'gemini-nano-banana-2.1';
  let gemini: FakeGeminiApiServer;
  const agent = new Agent();

  const url = (method: 'generateContent' | 'streamGenerateContent', model = PRO) =>
    `${gemini.baseUrl}/v1beta/models/${model}:${method}${method === 'streamGenerateContent' ? '?alt=sse' : ''}`;
  const post = (target: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': API_KEY }) =>
    fetch(target, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const image = (generationConfig: Record<string, unknown> = {}) => ({
    contents: [{ role: 'user', parts: [{ text: 'a heron' }] }],
    generationConfig: { responseModalities: ['IMAGE'], ...generationConfig },
  });

  beforeAll(async () => {
    gemini = await new FakeGeminiApiServer({ apiKey: API_KEY, models: [PRO, LITE, NANO] }).start();
  });

  beforeEach(() => gemini.reset());

  afterAll(async () => {
    await gemini.stop();
    await agent.destroy();
  });

  it('answers /v1beta/models/{model}:generateContent with the key in x-goog-api-key, without Vertex’s fields', async () => {
    const response = await post(url('generateContent'), image({ imageConfig: { aspectRatio: '1:1' } }));

    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({ modelVersion: PRO, responseId: expect.any(String) });
    expect(body.createTime).toBeUndefined();
    expect(body.usageMetadata.trafficType).toBeUndefined();
    expect(body.candidates[0]).toEqual({
      content: { role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: expect.any(String) } }] },
      finishReason: 'STOP',
      index: 0,
    });
    expect(gemini.generationRequests).toHaveLength(1);
  });

  it('answers as Google does: no key 403, a wrong key 400 API_KEY_INVALID, an OAuth bearer 401; a key in the URL is not read', async () => {
    const none = await post(url('generateContent'), image(), {});
    const wrong = await post(url('generateContent'), image(), { 'x-goog-api-key': 'AIza-wrong' });
    const bearer = await post(url('generateContent'), image(), { authorization: `Bearer ${API_KEY}` });
    const inUrl = await post(`${url('generateContent')}?key=${API_KEY}`, image(), {});

    expect(none.status).toBe(403);
    expect((await json(none)).error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    expect(wrong.status).toBe(400);
    const wrongBody = await json(wrong);
    expect(wrongBody.error).toMatchObject({
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: 'API key not valid. Please pass a valid API key.',
    });
    expect(wrongBody.error.details[0]).toMatchObject({ reason: 'API_KEY_INVALID' });
    expect(bearer.status).toBe(401);
    expect((await json(bearer)).error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    expect(inUrl.status).toBe(403);
  });

  it('answers 404 for a model it does not serve, and records other routes as unexpected', async () => {
    const unknown = await post(url('generateContent', 'gemini-9-ultra'), image());
    const vertexPath = await post(url('generateContent').replace('/v1beta/', '/v1/'), image());

    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.message).toMatch(/^models\/gemini-9-ultra is not found for API version v1beta/);
    expect(vertexPath.status).toBe(404);
    expect(gemini.unexpected).toEqual([`POST /v1/models/${PRO}:generateContent`]);
  });

  it('streams with alt=sse and validates the body as Vertex does', async () => {
    const stream = await post(url('streamGenerateContent', LITE), image());
    const invalid = await post(url('generateContent', LITE), image({ imageConfig: { imageSize: '2K' } }));

    const { events } = await readSse(stream);
    expect(events.at(-1)).toMatchObject({ candidates: [{ finishReason: 'STOP' }], modelVersion: LITE });
    expect(events.at(-1).usageMetadata.candidatesTokensDetails).toEqual([{ modality: 'IMAGE', tokenCount: 1120 }]);
    expect(invalid.status).toBe(400);
  });

  it('holds Nano Banana 2.1 to 1K, 2K and 4K (512 refused) and one candidate, and bills 3,780 tokens at 4K', async () => {
    const fourK = await post(
      url('generateContent', NANO),
      image({ imageConfig: { aspectRatio: '16:9', imageSize: '4K' } }),
    );
    const wide = await post(url('generateContent', NANO), image({ imageConfig: { aspectRatio: '1:4' } }));
    const small = await post(url('generateContent', NANO), image({ imageConfig: { imageSize: '512' } }));
    const two = await post(url('generateContent', NANO), image({ candidateCount: 2 }));

    const body = await json(fourK);
    expect(body.usageMetadata.candidatesTokensDetails).toEqual([{ modality: 'IMAGE', tokenCount: 3780 }]);
    const data = Buffer.from(body.candidates[0].content.parts[0].inlineData.data, 'base64');
    expect(await sharp(data).metadata()).toMatchObject({ width: 5504, height: 3072 });
    const wideData = Buffer.from((await json(wide)).candidates[0].content.parts[0].inlineData.data, 'base64');
    expect(await sharp(wideData).metadata()).toMatchObject({ width: 512, height: 2064 });
    expect([small.status, two.status]).toEqual([400, 400]);
  });

  it('fails the k-th call as scripted', async () => {
    gemini.failCall(1, googleError(500, 'INTERNAL', 'Internal error encountered.'));

    expect((await post(url('generateContent'), image())).status).toBe(500);
    expect((await post(url('generateContent'), image())).status).toBe(200);
  });
});
