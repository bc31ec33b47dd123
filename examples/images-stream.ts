/**
 * Streams an image generation: prints each server-sent event as it arrives (partial images, then
 * the completed image with the usage) and writes the completed image to a file.
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/images-stream.ts ["a prompt"]
 *
 * Optional: EASEL_BASE_URL (default http://localhost:3000/v1), EASEL_MODEL (default
 * local/easel/sketch; the azure/openai/gpt-image-* models stream too), OUT_DIR (default the
 * current directory).
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
const prompt = process.argv[2] ?? 'A harbour at night, oil painting';
const outDir = process.env.OUT_DIR ?? '.';

try {
  // A stream always carries base64 (b64_json); response_format 'url' is refused with stream.
  const stream = await client.images.generate({
    model,
    prompt,
    size: '1024x1024',
    stream: true,
    partial_images: 2,
  });

  await mkdir(outDir, { recursive: true });
  let saved: string | undefined;
  for await (const event of stream) {
    if (event.type === 'image_generation.partial_image') {
      console.log(`${event.type} #${event.partial_image_index} (${event.b64_json.length} base64 characters)`);
    } else if (event.type === 'image_generation.completed') {
      console.log(`${event.type} ${event.size} ${event.output_format}, usage: ${JSON.stringify(event.usage)}`);
      const file = join(outDir, `easel-stream-${Date.now()}.${event.output_format}`);
      await writeFile(file, Buffer.from(event.b64_json, 'base64'));
      saved ??= file;
      console.log(`Wrote ${file}`);
    }
  }
  if (!saved) throw new Error('the stream ended without a completed image');
} catch (error) {
  // The SDK's errors read like "401 Incorrect API key provided."
  console.error(`Image generation failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
