import { unsupportedImageSize } from '../common/errors/capability.errors.js';
import { InvalidRequestError } from '../common/errors/gateway.error.js';
import type { ModelCapabilities } from '../config/models.catalogue.js';
import type { ChatMessage, ChatPart, ChatRequest, InlineImage } from '../providers/chat-provider.interface.js';
import { IMAGE_DATA_URL, parseRemoteImageUrl } from '../remote-images/remote-image-url.js';
import type { CreateChatCompletionDto } from './dto/create-chat-completion.dto.js';

/** Vertex takes inline images up to 7 MB each; the same cap holds for fetched images. */
export const MAX_INPUT_IMAGE_BYTES = 7 * 1024 * 1024;

/** An `http(s)` image of the request, to be fetched before the upstream call; `param` is its path. */
export interface RemoteImagePart {
  type: 'remote_image';
  url: string;
  param: string;
}

/** A `ChatRequest` whose remote images are not fetched yet. */
export interface ChatDraft extends Omit<ChatRequest, 'messages'> {
  messages: Array<{ role: ChatMessage['role']; parts: Array<ChatPart | RemoteImagePart> }>;
}

export interface ChatMappingOptions {
  /** `REMOTE_IMAGE_URLS`: accept `http(s)` image URLs (fetched later), else refuse them. */
  remoteImages: boolean;
  /** The model's `candidates_per_call`: chat asks for all its choices in one upstream call. */
  candidatesPerCall?: number;
}

/**
 * Turns a validated chat DTO into Easel's `ChatDraft`: data-URL images decoded to mime type and
 * base64, `http(s)` image URLs refused or (when enabled) kept for fetching, system and developer
 * messages as system, the model's limits applied, remote images counted before any is fetched.
 * Every refusal names the exact path.
 */
export function toChatDraft(
  dto: CreateChatCompletionDto,
  modelId: string,
  capabilities: ModelCapabilities,
  options: ChatMappingOptions,
): ChatDraft {
  let images = 0;
  const messages: ChatDraft['messages'] = dto.messages.map((message, m) => {
    const role = message.role === 'developer' ? 'system' : message.role;
    if (typeof message.content === 'string') return { role, parts: [{ type: 'text', text: message.content }] };
    const parts = message.content.map((part, p): ChatPart | RemoteImagePart => {
      if (part.type === 'text') return { type: 'text', text: part.text };
      const param = `messages[${m}].content[${p}].image_url.url`;
      if (role !== 'user') throw new InvalidRequestError('Only user messages may carry images.', param);
      const url = part.image_url.url.trim();
      if (/^https?:/i.test(url)) {
        if (!options.remoteImages) {
          throw new InvalidRequestError(
            'Remote image URLs are not enabled on this server (its operator can enable them with REMOTE_IMAGE_URLS=true); send the image as a data URL (data:image/png;base64,…).',
            param,
          );
        }
        images++;
        return { type: 'remote_image', url: parseRemoteImageUrl(url, param).href, param };
      }
      const match = IMAGE_DATA_URL.exec(url.replace(/\s+/g, ''));
      if (!match) {
        throw new InvalidRequestError(
          `An image must be ${options.remoteImages ? 'an http(s) URL or ' : ''}a data URL of a PNG, JPEG or WebP image: data:image/png;base64,…`,
          param,
        );
      }
      if ((match[2]!.length * 3) / 4 > MAX_INPUT_IMAGE_BYTES)
        throw new InvalidRequestError('An input image may be at most 7 MB.', param);
      if (!hasImageSignature(match[1]!, match[2]!)) {
        throw new InvalidRequestError(`The data URL says ${match[1]}, but its bytes are not such an image.`, param);
      }
      images++;
      return { type: 'image', image: { mimeType: match[1]!, base64: match[2]! } };
    });
    return { role, parts };
  });
  if (images > capabilities.max_input_images) {
    throw new InvalidRequestError(
      `${modelId} accepts at most ${capabilities.max_input_images} input images per request.`,
      'messages',
    );
  }
  if (!messages.some((message) => message.role === 'user')) {
    throw new InvalidRequestError('messages needs at least one user message.', 'messages');
  }
  const maxOutputTokens = dto.max_completion_tokens ?? dto.max_tokens;
  const outputLimit = capabilities.max_output_tokens;
  if (maxOutputTokens !== undefined && outputLimit !== undefined && maxOutputTokens > outputLimit) {
    throw new InvalidRequestError(
      `${modelId} answers at most ${outputLimit} output tokens.`,
      dto.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens',
    );
  }
  const imageSize = dto.image_config?.image_size;
  if (imageSize !== undefined && !capabilities.image_sizes.includes(imageSize)) {
    throw unsupportedImageSize(imageSize, modelId, capabilities.image_sizes, 'image_config.image_size');
  }
  const n = dto.n ?? 1;
  if (n > capabilities.max_n)
    throw new InvalidRequestError(`${modelId} generates at most ${capabilities.max_n} choices.`, 'n');
  if (options.candidatesPerCall !== undefined && n > options.candidatesPerCall) {
    throw new InvalidRequestError(
      `${modelId} answers at most ${options.candidatesPerCall} choice${options.candidatesPerCall === 1 ? '' : 's'} per chat request; POST /v1/images/generations makes several images with n.`,
      'n',
    );
  }
  return {
    messages,
    modalities: dto.modalities ? [...new Set(dto.modalities)] : ['image', 'text'],
    aspectRatio: dto.image_config?.aspect_ratio,
    imageSize,
    n,
    temperature: dto.temperature,
    topP: dto.top_p,
    maxOutputTokens,
    user: dto.user,
  };
}

/** The remote images of a draft, in order, for fetching. */
export function remoteImagesOf(draft: ChatDraft): RemoteImagePart[] {
  return draft.messages.flatMap((message) =>
    message.parts.filter((part): part is RemoteImagePart => part.type === 'remote_image'),
  );
}

/** The draft with each remote image replaced by the image fetched for it (`fetched`, in `remoteImagesOf` order). */
export function withFetchedImages(draft: ChatDraft, fetched: readonly InlineImage[]): ChatRequest {
  const images = fetched[Symbol.iterator]();
  return {
    ...draft,
    messages: draft.messages.map((message) => ({
      role: message.role,
      parts: message.parts.map((part): ChatPart =>
        part.type === 'remote_image' ? { type: 'image', image: images.next().value! } : part,
      ),
    })),
  };
}

/** The first bytes of each accepted image type (PNG, JPEG, WebP's RIFF….WEBP). */
export function hasImageSignature(mimeType: string, base64: string): boolean {
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
export function promptText(request: ChatDraft): string {
  return request.messages
    .flatMap((message) => message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])))
    .join('\n');
}
