import type { JsonText } from '../../common/json/raw-json.js';
import type { ImageSizeTier } from '../../config/models.catalogue.js';

/**
 * `generateContent` wire types, as far as Easel uses them: the same on Vertex AI (v1) and on the
 * Gemini API (v1beta).
 */
export type GeminiPart = { text: string; thought?: boolean } | { inlineData: { mimeType: string; data: JsonText } };

export interface GeminiContent {
  role?: 'user' | 'model';
  parts?: GeminiPart[];
}

export interface GeminiImageConfig {
  aspectRatio?: string;
  /** Gemini 3 image models: the output resolution tier (default 1K). */
  imageSize?: ImageSizeTier;
}

export interface GenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  generationConfig?: {
    responseModalities?: Array<'TEXT' | 'IMAGE'>;
    imageConfig?: GeminiImageConfig;
    candidateCount?: number;
    temperature?: number;
    topP?: number;
    maxOutputTokens?: number;
  };
}

export interface ModalityTokenCount {
  modality?: string;
  tokenCount?: number;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  promptTokensDetails?: ModalityTokenCount[];
  candidatesTokensDetails?: ModalityTokenCount[];
}

export interface GeminiCandidate {
  content?: GeminiContent;
  finishReason?: string;
  index?: number;
}

export interface GenerateContentResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
}
