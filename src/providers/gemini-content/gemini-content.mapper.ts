import type { ImageSizeTier } from '../../config/models.catalogue.js';
import type { UsageMeasure } from '../../usage/usage-measure.js';
import type { ChatChoice, ChatFinishReason, ChatRequest, InlineImage } from '../chat-provider.interface.js';
import type {
  GeminiCandidate,
  GeminiImageConfig,
  GeminiPart,
  GeminiUsageMetadata,
  GenerateContentRequest,
  GenerateContentResponse,
} from './gemini-content.types.js';

/** Finish reasons that mean a safety system stopped the answer. */
const REFUSALS = new Set([
  'SAFETY',
  'IMAGE_SAFETY',
  'PROHIBITED_CONTENT',
  'IMAGE_PROHIBITED_CONTENT',
  'BLOCKLIST',
  'SPII',
  'RECITATION',
  'IMAGE_RECITATION',
  'NO_IMAGE',
  'IMAGE_OTHER',
  'LANGUAGE',
]);

/** A chat request as one call asking for `candidateCount` of its choices. */
export function toGeminiRequest(request: ChatRequest, candidateCount: number): GenerateContentRequest {
  const system = request.messages.filter((message) => message.role === 'system');
  const body: GenerateContentRequest = {
    contents: request.messages
      .filter((message) => message.role !== 'system')
      .map((message) => ({
        role: message.role === 'assistant' ? 'model' : 'user',
        parts: message.parts.map((part): GeminiPart =>
          part.type === 'text'
            ? { text: part.text }
            : { inlineData: { mimeType: part.image.mimeType, data: part.image.base64 } },
        ),
      })),
    generationConfig: {
      responseModalities: request.modalities.map((modality) => (modality === 'image' ? 'IMAGE' : 'TEXT')),
    },
  };
  if (system.length > 0) {
    body.systemInstruction = {
      parts: system.flatMap((message) =>
        message.parts.flatMap((part) => (part.type === 'text' ? [{ text: part.text }] : [])),
      ),
    };
  }
  const config = body.generationConfig!;
  const imageConfig = imageConfigOf(request.aspectRatio, request.imageSize);
  if (imageConfig) config.imageConfig = imageConfig;
  // Never candidateCount 1: it is the default, and what the Gemini 3 image models take.
  if (candidateCount > 1) config.candidateCount = candidateCount;
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.maxOutputTokens !== undefined) config.maxOutputTokens = request.maxOutputTokens;
  return body;
}

/**
 * The images endpoint's request for one call: the parts (the prompt, an edit's images), image
 * output only, the aspect ratio, the size tier when one was asked, `candidateCount` above 1.
 */
export function toGeminiImageRequest(
  parts: GeminiPart[],
  aspectRatio: string,
  imageSize: ImageSizeTier | undefined,
  candidateCount: number,
): GenerateContentRequest {
  return {
    contents: [{ role: 'user', parts }],
    generationConfig: {
      responseModalities: ['IMAGE'],
      imageConfig: imageConfigOf(aspectRatio, imageSize),
      ...(candidateCount > 1 ? { candidateCount } : {}),
    },
  };
}

/** `imageConfig` with what was asked (the tier as given: Gemini wants `1K`, not `1k`), or none. */
function imageConfigOf(aspectRatio?: string, imageSize?: ImageSizeTier): GeminiImageConfig | undefined {
  if (aspectRatio === undefined && imageSize === undefined) return undefined;
  return {
    ...(aspectRatio === undefined ? {} : { aspectRatio }),
    ...(imageSize === undefined ? {} : { imageSize }),
  };
}

export function finishReasonOf(reason: string | undefined): ChatFinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason && REFUSALS.has(reason)) return 'content_filter';
  return 'stop';
}

/** Text and every image of one candidate (thought parts are not answers). */
export function candidateOutput(candidate: GeminiCandidate): { text: string; images: InlineImage[] } {
  let text = '';
  const images: InlineImage[] = [];
  for (const part of candidate.content?.parts ?? []) {
    if ('text' in part && typeof part.text === 'string' && !part.thought) text += part.text;
    else if ('inlineData' in part && part.inlineData?.data)
      images.push({ mimeType: part.inlineData.mimeType, base64: part.inlineData.data });
  }
  return { text, images };
}

export function toChatChoices(response: GenerateContentResponse, n: number): ChatChoice[] {
  const candidates = response.candidates ?? [];
  if (candidates.length === 0) {
    // The prompt itself was blocked (promptFeedback), or nothing came back: a refusal per choice.
    return Array.from({ length: n }, (_, index) => ({
      index,
      text: null,
      images: [],
      finishReason: 'content_filter' as const,
    }));
  }
  return candidates.map((candidate, position) => {
    const { text, images } = candidateOutput(candidate);
    return {
      index: candidate.index ?? position,
      text: text === '' ? null : text,
      images,
      finishReason: finishReasonOf(candidate.finishReason),
    };
  });
}

export function refusalMessage(response: GenerateContentResponse): string {
  const reason = response.promptFeedback?.blockReason ?? response.candidates?.find((c) => c.finishReason)?.finishReason;
  return `The request was refused by the upstream safety system${reason ? ` (${reason})` : ''}.`;
}

/** usageMetadata → tokens by kind: IMAGE entries of the details are image tokens, the rest text. */
export function toUsage(metadata: GeminiUsageMetadata | undefined, images: number): UsageMeasure {
  const count = (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
  const imageTokens = (details?: Array<{ modality?: string; tokenCount?: number }>) =>
    (details ?? [])
      .filter((detail) => detail.modality === 'IMAGE')
      .reduce((sum, detail) => sum + count(detail.tokenCount), 0);
  const prompt = count(metadata?.promptTokenCount);
  const candidates = count(metadata?.candidatesTokenCount) + count(metadata?.thoughtsTokenCount);
  const inputImage = Math.min(prompt, imageTokens(metadata?.promptTokensDetails));
  const outputImage = Math.min(candidates, imageTokens(metadata?.candidatesTokensDetails));
  return {
    inputTextTokens: prompt - inputImage,
    inputImageTokens: inputImage,
    cachedInputTokens: count(metadata?.cachedContentTokenCount),
    outputTextTokens: candidates - outputImage,
    outputImageTokens: outputImage,
    images,
  };
}
