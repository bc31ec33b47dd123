/**
 * Generates one image as a signed URL (Easel's default response_format) and downloads it.
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/images-url.ts ["a prompt"]
 *
 * Optional: EASEL_BASE_URL (default http://localhost:3000/v1), EASEL_MODEL (default
 * local/easel/sketch). The URL needs no API key and works until it expires (IMAGE_URL_TTL_SECONDS).
 */
import OpenAI from 'openai';

const apiKey = process.env.EASEL_API_KEY;
if (!apiKey) {
  console.error('Set EASEL_API_KEY to an Easel API key (an admin creates one with POST /admin/keys).');
  process.exit(1);
}

const client = new OpenAI({ baseURL: process.env.EASEL_BASE_URL ?? 'http://localhost:3000/v1', apiKey });
const model = process.env.EASEL_MODEL ?? 'local/easel/sketch';
const prompt = process.argv[2] ?? 'A red fox in the snow, linocut';

try {
  const result = await client.images.generate({ model, prompt, size: '1024x1024', response_format: 'url' });

  const url = result.data?.[0]?.url;
  if (!url) throw new Error('the response has no image URL');
  console.log(`URL: ${url}`);

  const download = await fetch(url);
  if (!download.ok) throw new Error(`downloading the image answered HTTP ${download.status}: ${await download.text()}`);
  const bytes = Buffer.from(await download.arrayBuffer());
  console.log(`Downloaded ${download.headers.get('content-type')}, ${bytes.length} bytes`);
} catch (error) {
  // The SDK's errors read like "401 Incorrect API key provided."
  console.error(`Image generation failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
