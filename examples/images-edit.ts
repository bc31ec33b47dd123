/**
 * Edits an image (optionally only where a mask is transparent) and writes the result to a file.
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/images-edit.ts photo.png ["a prompt"]
 *
 * Optional: MASK (a PNG with alpha, the size of the image: its transparent pixels are edited),
 * EASEL_BASE_URL (default http://localhost:3000/v1), EASEL_MODEL (default local/easel/sketch),
 * OUT_DIR (default the current directory).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import OpenAI, { toFile } from 'openai';

const apiKey = process.env.EASEL_API_KEY;
const imagePath = process.argv[2];
if (!apiKey || !imagePath) {
  console.error('Usage: EASEL_API_KEY=sk-easel-… npx tsx examples/images-edit.ts <image.png> ["a prompt"]');
  process.exit(1);
}

const client = new OpenAI({ baseURL: process.env.EASEL_BASE_URL ?? 'http://localhost:3000/v1', apiKey });
const model = process.env.EASEL_MODEL ?? 'local/easel/sketch';
const prompt = process.argv[3] ?? 'Add a red hat';
const outDir = process.env.OUT_DIR ?? '.';
const maskPath = process.env.MASK;

try {
  // The SDK sends each file with the type given here; Easel judges the bytes anyway.
  const image = await toFile(await readFile(imagePath), basename(imagePath), { type: 'image/png' });
  const mask = maskPath ? await toFile(await readFile(maskPath), 'mask.png', { type: 'image/png' }) : undefined;
  const result = await client.images.edit({
    model,
    image,
    ...(mask ? { mask } : {}),
    prompt,
    size: '1024x1024',
    response_format: 'b64_json',
  });

  const b64 = result.data?.[0]?.b64_json;
  if (!b64) throw new Error('the response has no b64_json image');
  const file = join(outDir, `easel-edit-${Date.now()}.${result.output_format ?? 'png'}`);
  await writeFile(file, Buffer.from(b64, 'base64'));

  console.log(`Wrote ${file} (${result.size}) from ${model}`);
  console.log(`usage: ${JSON.stringify(result.usage)}`);
} catch (error) {
  console.error(`Image edit failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
