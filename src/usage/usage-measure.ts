/** What one upstream call consumed, by kind, as the upstream reported it. */
export interface UsageMeasure {
  inputTextTokens: number;
  inputImageTokens: number;
  /** Input tokens served from the upstream's cache (a subset of the input tokens). */
  cachedInputTokens: number;
  outputTextTokens: number;
  outputImageTokens: number;
  images: number;
}

export const EMPTY_USAGE: UsageMeasure = Object.freeze({
  inputTextTokens: 0,
  inputImageTokens: 0,
  cachedInputTokens: 0,
  outputTextTokens: 0,
  outputImageTokens: 0,
  images: 0,
});

/** Two measures together (the calls of one request). */
export function addUsage(a: UsageMeasure, b: UsageMeasure): UsageMeasure {
  return {
    inputTextTokens: a.inputTextTokens + b.inputTextTokens,
    inputImageTokens: a.inputImageTokens + b.inputImageTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    outputTextTokens: a.outputTextTokens + b.outputTextTokens,
    outputImageTokens: a.outputImageTokens + b.outputImageTokens,
    images: a.images + b.images,
  };
}
