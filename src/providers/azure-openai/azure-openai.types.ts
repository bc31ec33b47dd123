import type { JsonText } from '../../common/json/raw-json.js';

/** Azure OpenAI `images/generations` wire types (api-version 2025-04-01-preview), GPT image models. */
export interface AzureImageGenerationBody {
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

export interface AzureImagesResponse {
  created?: number;
  /** `b64_json` stays the bytes of the response body (see `UpstreamHttp.postJson`'s `rawStrings`). */
  data?: Array<{ b64_json?: JsonText; url?: string; revised_prompt?: string }>;
  background?: string;
  output_format?: string;
  quality?: string;
  size?: string;
  usage?: {
    input_tokens?: number;
    input_tokens_details?: { text_tokens?: number; image_tokens?: number; cached_tokens?: number };
    output_tokens?: number;
    output_tokens_details?: { text_tokens?: number; image_tokens?: number };
    total_tokens?: number;
  };
}

/** One event of a streamed generation or edit (`stream: true`). */
export interface AzureImageStreamEvent {
  type?:
    | 'image_generation.partial_image'
    | 'image_generation.completed'
    | 'image_edit.partial_image'
    | 'image_edit.completed';
  /** Stays the bytes of the event, like `AzureImagesResponse`'s. */
  b64_json?: JsonText;
  partial_image_index?: number;
  background?: string;
  output_format?: string;
  quality?: string;
  size?: string;
  usage?: AzureImagesResponse['usage'];
  error?: { code?: string; message?: string };
}
