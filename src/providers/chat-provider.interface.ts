import type { JsonText } from '../common/json/raw-json.js';
import type { ImageSizeTier } from '../config/models.catalogue.js';
import type { UsageMeasure } from '../usage/usage-measure.js';
import type { RoutedProvider } from './provider.interface.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export type ChatPart = { type: 'text'; text: string } | { type: 'image'; image: InlineImage };

export interface InlineImage {
  mimeType: string;
  base64: JsonText;
}

export interface ChatMessage {
  role: ChatRole;
  parts: ChatPart[];
}

/** A chat request in Easel's own terms. */
export interface ChatRequest {
  messages: ChatMessage[];
  /** What the model should answer with; image models default to both. */
  modalities: Array<'text' | 'image'>;
  aspectRatio?: string;
  /** Output resolution tier (`image_config.image_size`); unset: the upstream's default. */
  imageSize?: ImageSizeTier;
  n: number;
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  user?: string;
}

export type ChatFinishReason = 'stop' | 'length' | 'content_filter';

export interface ChatChoice {
  index: number;
  text: string | null;
  images: InlineImage[];
  finishReason: ChatFinishReason;
}

export interface ChatResult {
  choices: ChatChoice[];
  usage: UsageMeasure;
}

/** What a streaming chat yields, in order per choice; `usage` comes last. */
export type ChatStreamEvent =
  | { type: 'text'; index: number; text: string }
  | { type: 'image'; index: number; image: InlineImage }
  | { type: 'finish'; index: number; finishReason: ChatFinishReason }
  | { type: 'usage'; usage: UsageMeasure };

/** Serves `POST /v1/chat/completions`. */
export interface ChatProvider<T = unknown> extends RoutedProvider<T> {
  chat(target: T, request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  chatStream(target: T, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}

export function isChatProvider(provider: RoutedProvider): provider is ChatProvider {
  return 'chat' in provider && typeof provider.chat === 'function';
}
