/**
 * The upstream every benchmark target calls: Azure OpenAI `images/generations` and `images/edits`
 * (whose multipart body it reads whole and does not parse) and Vertex AI
 * `generateContent` / `streamGenerateContent?alt=sse`, on a loopback port, in a process of its own.
 * Answers are built once per setting, so the fake costs the same few microseconds whichever
 * client calls it. `PUT /__bench` sets the base64 size of the image and the latency:
 *   { "imageBase64Bytes": 4194304, "latencyMs": 0 }
 * Run: node dist-bench/bench/fake-upstream.js <port> (it prints `listening <port>` when ready).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BENCH_AZURE_KEY = 'azure-bench-key';
export const BENCH_VERTEX_TOKEN = 'vertex-bench-token';

interface Settings {
  imageBase64Bytes: number;
  latencyMs: number;
}

interface Answers {
  azureImages: Buffer;
  vertexJson: Buffer;
  vertexEvents: Buffer[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const AZURE_PATH = /^\/openai\/deployments\/[^/]+\/images\/(generations|edits)\?api-version=/;
const VERTEX_PATH =
  /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/[^/:]+:(generateContent|streamGenerateContent\?alt=sse)/;

/** Base64 of a PNG-signed byte string whose encoding is `length` characters (a multiple of 4). */
function imageBase64(length: number): string {
  const bytes = Math.max(12, Math.floor(length / 4) * 3);
  return Buffer.concat([PNG_SIGNATURE, randomBytes(bytes - PNG_SIGNATURE.length)]).toString('base64');
}

function build(settings: Settings): Answers {
  const image = imageBase64(settings.imageBase64Bytes);
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
  return { azureImages, vertexJson, vertexEvents };
}

export function startFakeUpstream(port: number): Promise<number> {
  let settings: Settings = { imageBase64Bytes: 128, latencyMs: 0 };
  let answers = build(settings);
  const later = (action: () => void) => (settings.latencyMs > 0 ? setTimeout(action, settings.latencyMs) : action());

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      if (request.method === 'PUT' && url === '/__bench') {
        settings = { ...settings, ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<Settings>) };
        answers = build(settings);
        response.writeHead(204).end();
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
