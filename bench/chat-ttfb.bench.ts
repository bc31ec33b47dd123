/**
 * Time to first byte of a streamed chat completion: straight to a Vertex-shaped fake on loopback,
 * and through Easel to the same fake. Run: npx tsx bench/chat-ttfb.bench.ts [requests]
 */
import { request } from 'undici';
import { FakeVertexServer } from '../test/fakes/fake-vertex.server.js';
import { percentile, startEasel } from './harness.js';

const requests = Number(process.argv[2] ?? 200);
const TOKEN = 'bench-token';
const vertex = await new FakeVertexServer({ accessToken: TOKEN, project: 'bench', location: 'global', models: ['gemini-2.5-flash-image'] }).start();
const easel = await startEasel({ VERTEX_PROJECT: 'bench', VERTEX_BASE_URL: vertex.baseUrl, VERTEX_ACCESS_TOKEN: TOKEN });

async function ttfb(url: string, headers: Record<string, string>, body: object): Promise<number> {
  const started = performance.now();
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const iterator = response.body[Symbol.asyncIterator]();
  await iterator.next();
  const elapsed = performance.now() - started;
  for await (const _chunk of { [Symbol.asyncIterator]: () => iterator }) {
    // drain
  }
  return elapsed;
}

const prompt = 'A lighthouse at dusk';
const direct = () =>
  ttfb(`${vertex.baseUrl}/v1/projects/bench/locations/global/publishers/google/models/gemini-2.5-flash-image:streamGenerateContent?alt=sse`, { authorization: `Bearer ${TOKEN}` }, {
    contents: [{ role: 'user', parts: [{ text: prompt }] }],
    generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
  });
const viaEasel = () =>
  ttfb(`${easel.baseUrl}/v1/chat/completions`, { authorization: `Bearer ${easel.apiKey}` }, {
    model: 'vertex/google/gemini-2.5-flash-image-preview',
    stream: true,
    messages: [{ role: 'user', content: prompt }],
  });

for (let i = 0; i < 20; i++) {
  await direct();
  await viaEasel();
}
const results = { direct: [] as number[], easel: [] as number[] };
for (let i = 0; i < requests; i++) {
  results.direct.push(await direct());
  results.easel.push(await viaEasel());
}
for (const list of Object.values(results)) list.sort((a, b) => a - b);
const row = (name: string, list: number[]) => `${name.padEnd(7)} p50 ${percentile(list, 50).toFixed(2)} ms  p99 ${percentile(list, 99).toFixed(2)} ms`;
console.log(`chat streaming time to first byte, ${requests} sequential requests`);
console.log(row('direct', results.direct));
console.log(row('easel', results.easel));
console.log(`added   p50 ${(percentile(results.easel, 50) - percentile(results.direct, 50)).toFixed(2)} ms  p99 ${(percentile(results.easel, 99) - percentile(results.direct, 99)).toFixed(2)} ms`);

await easel.close();
await vertex.stop();
