import { randomBytes } from 'node:crypto';
import { chatRequest } from '../factories/request-body.factory.js';
import type { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { FakeHttpServer } from '../fakes/fake-http.server.js';
import type { FakeVertexServer } from '../fakes/fake-vertex.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, startWithVertex, useUpstreamApp } from '../utils/upstream-apps.js';

const GA = 'vertex/google/gemini-2.5-flash-image';

/** Base64 of `bytes` random bytes: every character of the alphabet, `+` and `/` included. */
const base64Of = (bytes: number) => randomBytes(bytes).toString('base64');

/** One event of the response as the client got it: its name, and its `data` parsed. */
interface ReceivedEvent {
  event?: string;
  data: unknown;
}

/** The frames of an event stream, as they are on the wire. */
function framesOf(body: string): ReceivedEvent[] {
  return body
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)![1]!;
      return { event, data: data === '[DONE]' ? data : (JSON.parse(data) as unknown) };
    });
}

/**
 * `wire` in chunks, cut at the first occurrence of each marker (plus its offset): the fake writes
 * each as its own chunk, so the events reach Easel split where these say.
 */
function cutAt(wire: string, cuts: Array<[string, number]>): string[] {
  const offsets = cuts
    .map(([marker, offset]) => {
      const at = wire.indexOf(marker);
      if (at < 0) throw new Error(`no ${marker} in the wire`);
      return at + offset;
    })
    .sort((a, b) => a - b);
  return [0, ...offsets].map((from, index) => wire.slice(from, offsets[index] ?? wire.length)).filter(Boolean);
}

/** Lets the fake write each chunk on its own (a few ms apart), so TCP does not join them again. */
function enqueueChunks(fake: FakeHttpServer, chunks: string[]): void {
  fake.enqueue({ status: 200, stream: { events: chunks, intervalMs: 3 } });
}

describe('Streamed images pass through byte for byte', () => {
  describe('chat with Vertex AI (streamGenerateContent)', () => {
    let vertex: FakeVertexServer;
    let sut: TestApp;
    let key: string;

    useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app), { appPerTest: true });

    const candidate = (index: number, parts: object[], finishReason?: string) => ({
      content: { role: 'model', parts },
      index,
      ...(finishReason ? { finishReason } : {}),
    });
    const usageMetadata = { promptTokenCount: 4, candidatesTokenCount: 1300, totalTokenCount: 1304 };
    /** Vertex's framing: one `data:` line per event, CRLF line ends. */
    const sse = (event: object) => `data: ${JSON.stringify(event)}\r\n\r\n`;

    async function streamChat(n = 1): Promise<{ status: number; events: ReceivedEvent[] }> {
      const response = await sut.http('/v1/chat/completions', {
        key,
        body: chatRequest({ model: GA, stream: true, n, content: 'draw an otter' }),
      });
      return { status: response.status, events: framesOf(await response.text()) };
    }

    const deltasOf = (events: ReceivedEvent[]) =>
      events
        .filter((event) => event.data !== '[DONE]')
        .flatMap(
          (event) =>
            (
              event.data as {
                choices: Array<{
                  index: number;
                  delta: { content?: string; images?: Array<{ index: number; image_url: { url: string } }> };
                  finish_reason: string | null;
                }>;
              }
            ).choices,
        );

    it('sends each image as the base64 the upstream sent, in order, however the events were cut into chunks', async () => {
      const [first, second, third] = [base64Of(786_432), base64Of(300_001), base64Of(5_000)];
      const wire =
        sse({ candidates: [candidate(0, [{ text: 'Here you are.' }])] }) +
        sse({
          candidates: [
            candidate(0, [
              { inlineData: { mimeType: 'image/png', data: first } },
              { inlineData: { mimeType: 'image/webp', data: second } },
            ]),
          ],
        }) +
        sse({ candidates: [candidate(1, [{ inlineData: { mimeType: 'image/png', data: third } }], 'STOP')] }) +
        sse({ candidates: [candidate(0, [], 'STOP')], usageMetadata });
      enqueueChunks(
        vertex,
        cutAt(wire, [
          ['"inlineData":{"mimeType":"image/png","da', 0], // inside the key before the image
          [first.slice(0, 20), 1], // one character into the first image
          [first.slice(100_001, 100_020), 0], // inside a 4-character group
          [first.slice(-8), 3],
          ['\r\n\r\n', 1], // between CR and LF
          [second.slice(-3), 2], // inside the padding
          [third.slice(0, 20), 7],
        ]),
      );

      const { status, events } = await streamChat(2);

      expect(status).toBe(200);
      expect(events.at(-1)!.data).toBe('[DONE]');
      const images = deltasOf(events).flatMap((choice) =>
        (choice.delta.images ?? []).map((image) => [choice.index, image.index, image.image_url.url]),
      );
      expect(images).toEqual([
        [0, 0, `data:image/png;base64,${first}`],
        [0, 1, `data:image/webp;base64,${second}`],
        [1, 0, `data:image/png;base64,${third}`],
      ]);
    });

    it.each([
      ['an escaped \\/', (image: string) => `${image.slice(0, 9_000)}\\/${image.slice(9_000)}`],
      ['a \\u escape', (image: string) => `${image.slice(0, 9_000)}\\u0041${image.slice(9_000)}`],
      ['characters that are not ASCII', (image: string) => `${image.slice(0, 9_000)}é€${image.slice(9_000)}`],
      ['characters that are not base64', (image: string) => `${image.slice(0, 9_000)}!*~ ${image.slice(9_000)}`],
    ])('passes on an image with %s in its data as the string it stands for', async (_what, encode) => {
      const data = encode(base64Of(30_000));
      const wire =
        sse({ candidates: [candidate(0, [{ text: 'Here you are.' }])] }) +
        `data: {"candidates":[{"content":{"role":"model","parts":[{"inlineData":{"mimeType":"image/png","data":"${data}"}}]},"index":0}]}\r\n\r\n` +
        sse({ candidates: [candidate(0, [], 'STOP')], usageMetadata });
      enqueueChunks(vertex, cutAt(wire, [[data.slice(8_990, 9_000), 10]]));

      const { events } = await streamChat();

      const [image] = deltasOf(events).flatMap((choice) => choice.delta.images ?? []);
      expect(image!.image_url.url).toBe(`data:image/png;base64,${JSON.parse(`"${data}"`) as string}`);
      expect(events.at(-1)!.data).toBe('[DONE]');
    });

    it.each([
      [
        'a control character inside its data',
        (image: string) => sseImage(`${image.slice(0, 9_000)}\t${image.slice(9_000)}`),
      ],
      [
        'its data on two data: lines (joined with a line feed)',
        (image: string) => sseImage(`${image.slice(0, 9_000)}\r\ndata: ${image.slice(9_000)}`),
      ],
      ['a stream that ends in the middle of its data', (image: string) => sseImage(image).slice(0, 20_000)],
      [
        'JSON that is cut short after its data',
        (image: string) => sseImage(image).replace(/\]\}\r\n\r\n$/, '\r\n\r\n'),
      ],
    ])('ends the stream with an upstream_error event for an image event with %s', async (_what, imageEvent) => {
      const wire = sse({ candidates: [candidate(0, [{ text: 'Here you are.' }])] }) + imageEvent(base64Of(30_000));
      enqueueChunks(vertex, cutAt(wire, [['"inlineData"', 3]]));

      const { status, events } = await streamChat();

      expect(status).toBe(200);
      expect(deltasOf(events.slice(0, -1)).map((choice) => choice.delta)).toEqual([
        { role: 'assistant', content: 'Here you are.' },
      ]);
      expect(events.at(-1)!.data).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
    });

    /** An image event, written by hand so that `data` can hold anything. */
    function sseImage(data: string): string {
      return `data: {"candidates":[{"content":{"role":"model","parts":[{"inlineData":{"mimeType":"image/png","data":"${data}"}}]},"index":0}]}\r\n\r\n`;
    }
  });

  describe('image generation with Azure OpenAI (stream: true)', () => {
    let azure: FakeAzureOpenAiServer;
    let sut: TestApp;
    let key: string;

    useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app));

    const settings = { background: 'opaque', output_format: 'png', quality: 'low', size: '1024x1024' };
    const usage = { input_tokens: 10, output_tokens: 544, total_tokens: 554 };
    /** OpenAI's framing: `event:` and one `data:` line, LF line ends. */
    const frame = (type: string, body: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;

    async function streamImages(body: object): Promise<ReceivedEvent[]> {
      const response = await sut.http('/v1/images/generations', {
        key,
        body: { model: 'azure/openai/gpt-image-1.5', prompt: 'an otter', size: '1024x1024', stream: true, ...body },
      });
      expect(response.status).toBe(200);
      return framesOf(await response.text());
    }

    it('sends partial and completed images as the base64 the upstream sent, in order, however the events were cut', async () => {
      const [partial0, partial1, image0, image1] = [
        base64Of(200_000),
        base64Of(400_000),
        base64Of(786_433),
        base64Of(6_000),
      ];
      const wire =
        frame('image_generation.partial_image', { b64_json: partial0, partial_image_index: 0, ...settings }) +
        frame('image_generation.partial_image', { b64_json: partial1, partial_image_index: 1, ...settings }) +
        frame('image_generation.completed', { b64_json: image0, ...settings, usage }) +
        frame('image_generation.completed', { b64_json: image1, ...settings, usage }) +
        'data: [DONE]\n\n';
      enqueueChunks(
        azure,
        cutAt(wire, [
          ['event: image_generation.partial_image\ndat', 0],
          ['"b64_json":"', 4],
          [partial0.slice(0, 30), 1],
          [partial1.slice(50_000, 50_010), 2],
          [image0.slice(-10), 9],
          ['\n\nevent: image_generation.completed', 1], // between the two line feeds
          [image1.slice(0, 10), 3],
        ]),
      );

      const events = await streamImages({ n: 2, partial_images: 2 });

      expect(
        events.map(({ event, data }) => [
          event,
          (data as { type: string }).type,
          (data as { partial_image_index?: number }).partial_image_index,
          (data as { b64_json: string }).b64_json,
        ]),
      ).toEqual([
        ['image_generation.partial_image', 'image_generation.partial_image', 0, partial0],
        ['image_generation.partial_image', 'image_generation.partial_image', 1, partial1],
        ['image_generation.completed', 'image_generation.completed', undefined, image0],
        ['image_generation.completed', 'image_generation.completed', undefined, image1],
      ]);
    });

    it('passes on an image with an escaped \\/ in its data as the string it stands for', async () => {
      const image = base64Of(30_000);
      const escaped = `${image.slice(0, 9_000)}\\/${image.slice(9_000)}`;
      const wire =
        `event: image_generation.completed\ndata: {"type":"image_generation.completed","b64_json":"${escaped}","size":"1024x1024","usage":${JSON.stringify(usage)}}\n\n` +
        'data: [DONE]\n\n';
      enqueueChunks(azure, cutAt(wire, [['\\/', 1]]));

      const [completed] = await streamImages({});

      expect((completed!.data as { b64_json: string }).b64_json).toBe(`${image.slice(0, 9_000)}/${image.slice(9_000)}`);
    });
  });
});
