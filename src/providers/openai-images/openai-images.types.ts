import type { JsonText } from '../../common/json/raw-json.js';

/**
 * OpenAI's Images API wire types for the GPT image models (`images/generations`, `images/edits`),
 * as the public API and Azure OpenAI (api-version 2025-04-01-preview) both speak them.
 */
export interface OpenAiImagesBody {
  /** The public API only: Azure's deployment URL names the model. */
  model?: string;
  prompt: string;
  n?: number;
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
  output_compression?: number;
  moderation?: string;
  user?: string;
  stream?: boolean;
  partial_images?: number;
}

/** `usage` of a response and of a stream's `*.completed` event (the spec's `ImageGenUsage`). */
export interface OpenAiImagesUsage {
  input_tokens?: number;
  input_tokens_details?: { text_tokens?: number; image_tokens?: number; cached_tokens?: number };
  output_tokens?: number;
  output_tokens_details?: { text_tokens?: number; image_tokens?: number };
  total_tokens?: number;
}

export interface OpenAiImagesResponse {
  created?: number;
  /** `b64_json` stays the bytes of the response body (see `UpstreamHttp.postJson`'s `rawStrings`). */
  data?: Array<{ b64_json?: JsonText; url?: string; revised_prompt?: string }>;
  background?: string;
  output_format?: string;
  quality?: string;
  size?: string;
  usage?: OpenAiImagesUsage;
}

/** One event of a streamed generation or edit (`stream: true`). */
export interface OpenAiImageStreamEvent {
  type?:
    | 'image_generation.partial_image'
    | 'image_generation.completed'
    | 'image_edit.partial_image'
    | 'image_edit.completed';
  /** Stays the bytes of the event, like `OpenAiImagesResponse`'s. */
  b64_json?: JsonText;
  partial_image_index?: number;
  background?: string;
  output_format?: string;
  quality?: string;
  size?: string;
  usage?: OpenAiImagesUsage;
  error?: { code?: string; message?: string };
}
