import type { JsonText } from '../../common/json/raw-json.js';

/** Vertex AI `generateContent` wire types (v1), as far as Easel uses them. */
export type GeminiPart = { text: string; thought?: boolean } | { inlineData: { mimeType: string; data: JsonText } };

export interface GeminiContent {
  role?: 'user' | 'model';
  parts?: GeminiPart[];
}

export interface GenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  generationConfig?: {
    responseModalities?: Array<'TEXT' | 'IMAGE'>;
    imageConfig?: { aspectRatio: string };
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
