/**
 * The floor of the benchmark: the least a Node.js gateway can do, a Fastify route that forwards
 * the prompt to the same upstream with undici and answers the upstream's bytes unparsed. No keys,
 * validation, limits, retries, usage or logs. `POST /v1/images/generations` reads the upstream's
 * body whole before answering it (the reference of `npm run bench`'s scenarios);
 * `POST /streamed/v1/images/generations` streams it through as it arrives, holding no more than
 * the sockets' buffers (the reference of the burst scenario).
 * Run: node dist-bench/bench/bare-proxy.js <port> <upstream>
 */
import Fastify, { type FastifyRequest } from 'fastify';
import { Agent, request } from 'undici';

const [port, upstream] = process.argv.slice(2) as [string, string];
const agent = new Agent({ keepAliveTimeout: 30_000 });
const app = Fastify({ bodyLimit: 50 * 1024 * 1024 });

function generate(incoming: FastifyRequest) {
  const { prompt } = incoming.body as { prompt: string };
  return request(`${upstream}/openai/deployments/gpt-image-1.5/images/generations?api-version=2025-04-01-preview`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', 'api-key': process.env.AZURE_OPENAI_API_KEY ?? '' },
    body: JSON.stringify({ prompt }),
  });
}

app.post('/v1/images/generations', async (incoming, reply) => {
  const response = await generate(incoming);
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return reply.code(response.statusCode).header('content-type', 'application/json').send(Buffer.concat(chunks));
});
app.post('/streamed/v1/images/generations', async (incoming, reply) => {
  const response = await generate(incoming);
  const length = response.headers['content-length'];
  if (typeof length === 'string') reply.header('content-length', length);
  return reply.code(response.statusCode).header('content-type', 'application/json').send(response.body);
});
app.get('/', async () => 'ok');

await app.listen({ port: Number(port), host: '127.0.0.1' });
