import { InvalidRequestError } from '../common/errors/gateway.error.js';
import type { ModelCapabilities } from '../config/models.catalogue.js';
import type { ChatMessage, ChatPart, ChatRequest } from '../providers/provider.interface.js';
import type { CreateChatCompletionDto } from './dto/create-chat-completion.dto.js';

const DATA_URL = /^data:(image\/(?:png|jpeg|webp));base64,([A-Za-z0-9+/]+={0,2})$/;
/** Vertex takes inline images up to 7 MB each. */
const MAX_IMAGE_BYTES = 7 * 1024 * 1024;

/**
 * Turns a validated chat DTO into Easel's `ChatRequest`: data-URL images decoded to mime type and
 * base64 (remote URLs are refused: fetching them is off by default), system and developer
 * messages as system, the model's limits applied. Every refusal names the exact path.
 */
export function toChatRequest(dto: CreateChatCompletionDto, modelId: string, capabilities: ModelCapabilities): ChatRequest {
  let images = 0;
  const messages: ChatMessage[] = dto.messages.map((message, m) => {
    const role = message.role === 'developer' ? 'system' : message.role;
    if (typeof message.content === 'string') return { role, parts: [{ type: 'text', text: message.content }] };
    const parts = message.content.map((part, p): ChatPart => {
      if (part.type === 'text') return { type: 'text', text: part.text };
      const param = `messages[${m}].content[${p}].image_url.url`;
      if (role !== 'user') throw new InvalidRequestError('Only user messages may carry images.', param);
      const match = DATA_URL.exec(part.image_url.url.replace(/\s+/g, ''));
      if (!match) {
        throw new InvalidRequestError(
          /^https?:/i.test(part.image_url.url)
            ? 'Remote image URLs are not enabled on this server; send the image as a data URL (data:image/png;base64,…).'
            : 'An image must be a data URL of a PNG, JPEG or WebP image: data:image/png;base64,…',
          param,
        );
      }
      if ((match[2]!.length * 3) / 4 > MAX_IMAGE_BYTES) throw new InvalidRequestError('An input image may be at most 7 MB.', param);
      if (!hasImageSignature(match[1]!, match[2]!)) {
        throw new InvalidRequestError(`The data URL says ${match[1]}, but its bytes are not such an image.`, param);
      }
      images++;
      return { type: 'image', image: { mimeType: match[1]!, base64: match[2]! } };
    });
    return { role, parts };
  });
  if (images > capabilities.max_input_images) {
    throw new InvalidRequestError(`${modelId} accepts at most ${capabilities.max_input_images} input images per request.`, 'messages');
  }
  if (!messages.some((message) => message.role === 'user')) {
    throw new InvalidRequestError('messages needs at least one user message.', 'messages');
  }
  const n = dto.n ?? 1;
  if (n > capabilities.max_n) throw new InvalidRequestError(`${modelId} generates at most ${capabilities.max_n} choices.`, 'n');
  return {
    messages,
    modalities: dto.modalities ? [...new Set(dto.modalities)] : ['image', 'text'],
    aspectRatio: dto.image_config?.aspect_ratio,
    n,
    temperature: dto.temperature,
    topP: dto.top_p,
    maxOutputTokens: dto.max_completion_tokens ?? dto.max_tokens,
    user: dto.user,
  };
}

/** The first bytes of each accepted image type (PNG, JPEG, WebP's RIFF….WEBP). */
function hasImageSignature(mimeType: string, base64: string): boolean {
  const head = Buffer.from(base64.slice(0, 24), 'base64');
  switch (mimeType) {
    case 'image/png':
      return head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    case 'image/jpeg':
      return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
    default:
      return head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP';
  }
}

/** The text of the conversation, for the usage record's prompt hash and length. */
export function promptText(request: ChatRequest): string {
  return request.messages
    .flatMap((message) => message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])))
    .join('\n');
}
