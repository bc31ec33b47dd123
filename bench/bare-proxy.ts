/**
 * The floor of the benchmark: the least a Node.js gateway can do, a Fastify route that forwards
 * the prompt to the same upstream with undici and answers the upstream's bytes unparsed. No keys,
 * validation, limits, retries, usage or logs. Run: node dist-bench/bench/bare-proxy.js <port> <upstream>
 */
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const [port, upstream] = process.argv.slice(2) as [string, string];
const agent = new Agent({ keepAliveTimeout: 30_000 });
const app = Fastify({ bodyLimit: 50 * 1024 * 1024 });

app.post('/v1/images/generations', async (incoming, reply) => {
  const { prompt } = incoming.body as { prompt: string };
  const response = await request(
    `${upstream}/openai/deployments/gpt-image-1.5/images/generations?api-version=2025-04-01-preview`,
    {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', 'api-key': process.env.AZURE_OPENAI_API_KEY ?? '' },
      body: JSON.stringify({ prompt }),
    },
  );
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return reply.code(response.statusCode).header('content-type', 'application/json').send(Buffer.concat(chunks));
});
app.get('/', async () => 'ok');

await app.listen({ port: Number(port), host: '127.0.0.1' });
