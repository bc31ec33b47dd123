/**
 * Generates one image as base64 and writes it to a file.
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/images-b64.ts ["a prompt"]
 *
 * Optional: EASEL_BASE_URL (default http://localhost:3000/v1), EASEL_MODEL (default
 * local/easel/sketch), OUT_DIR (default the current directory).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';

const apiKey = process.env.EASEL_API_KEY;
if (!apiKey) {
  console.error('Set EASEL_API_KEY to an Easel API key (an admin creates one with POST /admin/keys).');
  process.exit(1);
}

const client = new OpenAI({ baseURL: process.env.EASEL_BASE_URL ?? 'http://localhost:3000/v1', apiKey });
const model = process.env.EASEL_MODEL ?? 'local/easel/sketch';
const prompt = process.argv[2] ?? 'A lighthouse at dusk, watercolour';
const outDir = process.env.OUT_DIR ?? '.';

try {
  const result = await client.images.generate({
    model,
    prompt,
    size: '1024x1024',
    response_format: 'b64_json',
  });

  const b64 = result.data?.[0]?.b64_json;
  if (!b64) throw new Error('the response has no b64_json image');
  const bytes = Buffer.from(b64, 'base64');

  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `easel-${Date.now()}.${result.output_format ?? 'png'}`);
  await writeFile(file, bytes);

  console.log(`Wrote ${file} (${result.size}, ${bytes.length} bytes) from ${model}`);
  console.log(`usage: ${JSON.stringify(result.usage)}`);
} catch (error) {
  // The SDK's errors read like "401 Incorrect API key provided."
  console.error(`Image generation failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
