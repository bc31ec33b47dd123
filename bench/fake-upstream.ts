/**
 * The upstream every benchmark target calls: Azure OpenAI `images/generations` and `images/edits`
 * (whose multipart body it reads whole and does not parse) and Vertex AI
 * `generateContent` / `streamGenerateContent?alt=sse`, on a loopback port, in a process of its own.
 * Answers are built once per setting, so the fake costs the same few microseconds whichever
 * client calls it. The image is a real PNG (random RGBA pixels, so it does not compress, padded
 * with a private chunk to the exact size asked). `PUT /__bench` sets the base64 size of the image,
 * the latency, and `holdRequests`: with N > 0 every answer is held until N requests are waiting,
 * then all of them are sent at once (a burst; after `holdTimeoutMs` from the first one held, those
 * waiting are sent anyway and counted as `releasedEarly`):
 *   { "imageBase64Bytes": 4194304, "latencyMs": 0, "holdRequests": 0, "holdTimeoutMs": 60000 }
 * `GET /__bench` answers the image's size and SHA-256 and the bursts released:
 *   { "imageBytes": …, "imageSha256": "…", "released": 0, "releasedEarly": 0 }
 * Run: node dist-bench/bench/fake-upstream.js <port> (it prints `listening <port>` when ready).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';

export const BENCH_AZURE_KEY = 'azure-bench-key';
export const BENCH_VERTEX_TOKEN = 'vertex-bench-token';

export interface FakeUpstreamSettings {
  imageBase64Bytes: number;
  latencyMs: number;
  holdRequests: number;
  holdTimeoutMs: number;
}

/** What `GET /__bench` answers. */
export interface FakeUpstreamState {
  imageBytes: number;
  imageSha256: string;
  /** Bursts sent because `holdRequests` were waiting. */
  released: number;
  /** Bursts sent after `holdTimeoutMs` with fewer waiting. */
  releasedEarly: number;
}

interface Answers {
  image: Buffer;
  azureImages: Buffer;
  vertexJson: Buffer;
  vertexEvents: Buffer[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const AZURE_PATH = /^\/openai\/deployments\/[^/]+\/images\/(generations|edits)\?api-version=/;
const VERTEX_PATH =
  /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/[^/:]+:(generateContent|streamGenerateContent\?alt=sse)/;

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, tail]);
}

/** A `side` × `side` PNG of random RGBA pixels, stored uncompressed (random pixels do not compress). */
function noisePng(side: number): Buffer[] {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  const rows = randomBytes(side * (side * 4 + 1));
  for (let row = 0; row < side; row++) rows[row * (side * 4 + 1)] = 0; // filter type None
  return [
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(rows, { level: 0 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ];
}

/**
 * A valid PNG of exactly `bytes` bytes (at least the smallest, 85): the largest square of random
 * pixels that fits, and a private ancillary chunk (`beNc`, which decoders skip) for the rest.
 */
export function pngOfSize(bytes: number): Buffer {
  for (let side = Math.max(1, Math.floor(Math.sqrt(bytes / 4))); ; side--) {
    const [signature, header, data, end] = noisePng(side) as [Buffer, Buffer, Buffer, Buffer];
    const padding = bytes - (signature.length + header.length + data.length + end.length) - 12;
    if (padding >= 0 || side === 1)
      return Buffer.concat([signature, header, pngChunk('beNc', randomBytes(Math.max(0, padding))), data, end]);
  }
}

function build(settings: FakeUpstreamSettings): Answers {
  const bytes = pngOfSize(Math.floor(settings.imageBase64Bytes / 4) * 3);
  const image = bytes.toString('base64');
  const azureImages = Buffer.from(
    JSON.stringify({
      created: 1764547200,
      background: 'opaque',
      output_format: 'png',
      quality: 'low',
      size: '1024x1024',
      data: [{ b64_json: image }],
      usage: {
        input_tokens: 6,
        input_tokens_details: { text_tokens: 6, image_tokens: 0 },
        output_tokens: 272,
        total_tokens: 278,
      },
    }),
  );
  const usageMetadata = {
    promptTokenCount: 6,
    candidatesTokenCount: 1300,
    totalTokenCount: 1306,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 6 }],
    candidatesTokensDetails: [
      { modality: 'TEXT', tokenCount: 10 },
      { modality: 'IMAGE', tokenCount: 1290 },
    ],
  };
  const candidate = (parts: object[], finishReason?: string) => ({
    content: { role: 'model', parts },
    index: 0,
    ...(finishReason ? { finishReason } : {}),
  });
  const vertexJson = Buffer.from(
    JSON.stringify({
      candidates: [
        candidate([{ text: 'Here is your image.' }, { inlineData: { mimeType: 'image/png', data: image } }], 'STOP'),
      ],
      usageMetadata,
      modelVersion: 'gemini-2.5-flash-image',
    }),
  );
  const event = (body: object) => Buffer.from(`data: ${JSON.stringify(body)}\r\n\r\n`);
  const vertexEvents = [
    event({ candidates: [candidate([{ text: 'Here is your image.' }])], modelVersion: 'gemini-2.5-flash-image' }),
    event({
      candidates: [candidate([{ inlineData: { mimeType: 'image/png', data: image } }])],
      modelVersion: 'gemini-2.5-flash-image',
    }),
    event({ candidates: [candidate([], 'STOP')], usageMetadata, modelVersion: 'gemini-2.5-flash-image' }),
  ];
  return { image: bytes, azureImages, vertexJson, vertexEvents };
}

export function startFakeUpstream(port: number): Promise<number> {
  let settings: FakeUpstreamSettings = { imageBase64Bytes: 128, latencyMs: 0, holdRequests: 0, holdTimeoutMs: 60_000 };
  let answers = build(settings);
  let imageSha256 = createHash('sha256').update(answers.image).digest('hex');
  const burst = {
    held: [] as Array<() => void>,
    timer: undefined as NodeJS.Timeout | undefined,
    released: 0,
    early: 0,
  };
  const release = (early: boolean) => {
    clearTimeout(burst.timer);
    burst.timer = undefined;
    const held = burst.held.splice(0);
    if (early) burst.early++;
    else burst.released++;
    for (const action of held) action();
  };
  const hold = (action: () => void) => {
    if (settings.holdRequests <= 0) return action();
    burst.held.push(action);
    burst.timer ??= setTimeout(() => release(true), settings.holdTimeoutMs);
    if (burst.held.length >= settings.holdRequests) release(false);
  };
  const later = (action: () => void) =>
    settings.latencyMs > 0 ? setTimeout(() => hold(action), settings.latencyMs) : hold(action);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      if (request.method === 'PUT' && url === '/__bench') {
        const changed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<FakeUpstreamSettings>;
        if (changed.imageBase64Bytes !== undefined && changed.imageBase64Bytes !== settings.imageBase64Bytes) {
          answers = build({ ...settings, ...changed });
          imageSha256 = createHash('sha256').update(answers.image).digest('hex');
        }
        settings = { ...settings, ...changed };
        response.writeHead(204).end();
        return;
      }
      if (request.method === 'GET' && url === '/__bench') {
        const state: FakeUpstreamState = {
          imageBytes: answers.image.length,
          imageSha256,
          released: burst.released,
          releasedEarly: burst.early,
        };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
        return;
      }
      if (request.method === 'POST' && AZURE_PATH.test(url)) {
        if (request.headers['api-key'] !== BENCH_AZURE_KEY) return void response.writeHead(401).end();
        const body = answers.azureImages;
        return later(() =>
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body),
        );
      }
      const vertex = VERTEX_PATH.exec(url);
      if (request.method === 'POST' && vertex) {
        if (request.headers.authorization !== `Bearer ${BENCH_VERTEX_TOKEN}`) return void response.writeHead(401).end();
        if (vertex[1] === 'generateContent') {
          const body = answers.vertexJson;
          return later(() =>
            response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body),
          );
        }
        const events = answers.vertexEvents;
        return later(() => {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const chunk of events) response.write(chunk);
          response.end();
        });
      }
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `no route ${request.method} ${url}` } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

if (process.argv[1]?.endsWith('fake-upstream.js')) {
  const port = await startFakeUpstream(Number(process.argv[2] ?? 0));
  console.log(`listening ${port}`);
}
