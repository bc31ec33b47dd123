/**
 * Streams a chat completion from an image model: prints the text as it arrives, counts the images
 * that come in `delta.images`, writes the first one to a file and prints the usage at the end.
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/chat-stream.ts ["a prompt"]
 *
 * Optional: EASEL_BASE_URL (default http://localhost:3000/v1), EASEL_MODEL (default
 * local/easel/sketch), OUT_DIR (default the current directory).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';

/** Easel's chunks add `images` to the delta; the SDK passes it through untyped. */
interface EaselImage {
  type: 'image_url';
  image_url: { url: string };
  index: number;
}

const apiKey = process.env.EASEL_API_KEY;
if (!apiKey) {
  console.error('Set EASEL_API_KEY to an Easel API key (an admin creates one with POST /admin/keys).');
  process.exit(1);
}

const client = new OpenAI({ baseURL: process.env.EASEL_BASE_URL ?? 'http://localhost:3000/v1', apiKey });
const model = process.env.EASEL_MODEL ?? 'local/easel/sketch';
const prompt = process.argv[2] ?? 'A fox in the snow, linocut';
const outDir = process.env.OUT_DIR ?? '.';

try {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });

  let first: EaselImage | undefined;
  let images = 0;
  let finishReason: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      if (choice.delta.content) process.stdout.write(choice.delta.content);
      for (const image of (choice.delta as { images?: EaselImage[] }).images ?? []) {
        images++;
        first ??= image;
      }
      finishReason = choice.finish_reason ?? finishReason;
    }
    // With include_usage, the last chunk has no choices and carries the usage.
    if (chunk.usage) usage = chunk.usage;
  }
  process.stdout.write('\n');

  if (finishReason === 'content_filter') {
    throw new Error('the upstream refused the prompt (finish_reason content_filter)');
  }
  const match = /^data:image\/(\w+);base64,(.+)$/.exec(first?.image_url.url ?? '');
  if (!match) throw new Error('the stream carried no image in delta.images');
  const bytes = Buffer.from(match[2]!, 'base64');

  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `easel-chat-stream-${Date.now()}.${match[1] === 'jpeg' ? 'jpg' : match[1]}`);
  await writeFile(file, bytes);

  console.log(`Received ${images} image(s); wrote ${file} (${bytes.length} bytes) from ${model}`);
  console.log(`finish_reason: ${finishReason}`);
  console.log(`usage: ${JSON.stringify(usage)}`);
} catch (error) {
  // The SDK's errors read like "401 Incorrect API key provided."; a failure mid-stream ends the
  // stream with an error event, which the SDK throws here too.
  console.error(`Chat completion failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
