/**
 * Asks an image model for a picture through the chat format, prints the text of the answer and
 * writes the first image of `message.images` (a data URL) to a file.
 *
 *   EASEL_API_KEY=sk-easel-… npx tsx examples/chat.ts ["a prompt"]
 *
 * Optional: EASEL_BASE_URL (default http://localhost:3000/v1), EASEL_MODEL (default
 * local/easel/sketch; try vertex/google/gemini-2.5-flash-image), OUT_DIR (default the current
 * directory).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';

/** Easel's answer adds `images` to the assistant message; the SDK passes it through untyped. */
interface EaselImage {
  type: 'image_url';
  image_url: { url: string };
  index: number;
}

/** Easel's extension of the request: the shape of the images (Gemini's aspect ratios). */
type EaselChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming & { image_config?: { aspect_ratio: string } };

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
  const params: EaselChatParams = {
    model,
    messages: [{ role: 'user', content: prompt }],
    image_config: { aspect_ratio: '1:1' },
  };
  const completion = await client.chat.completions.create(params);

  const choice = completion.choices[0];
  if (!choice) throw new Error('the response has no choices');
  if (choice.finish_reason === 'content_filter') {
    throw new Error('the upstream refused the prompt (finish_reason content_filter)');
  }
  console.log(choice.message.content ?? '(no text)');

  const images = (choice.message as { images?: EaselImage[] }).images ?? [];
  const match = /^data:image\/(\w+);base64,(.+)$/.exec(images[0]?.image_url.url ?? '');
  if (!match) throw new Error('the answer has no image in message.images');
  const bytes = Buffer.from(match[2]!, 'base64');

  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `easel-chat-${Date.now()}.${match[1] === 'jpeg' ? 'jpg' : match[1]}`);
  await writeFile(file, bytes);

  console.log(`Wrote ${file} (${bytes.length} bytes, ${images.length} image(s)) from ${model}`);
  console.log(`usage: ${JSON.stringify(completion.usage)}`);
} catch (error) {
  // The SDK's errors read like "401 Incorrect API key provided."
  console.error(`Chat completion failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
