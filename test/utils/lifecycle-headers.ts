/** What a response says of its model's lifecycle (`null` for a header it lacks). */
export function lifecycleHeadersOf(response: Response) {
  return {
    served: response.headers.get('x-easel-served-model'),
    deprecation: response.headers.get('deprecation'),
    sunset: response.headers.get('sunset'),
    link: response.headers.get('link'),
  };
}

/** The Gemini preview id teams started with: retired on 2025-10-31, served by its successor on `global`. */
export const GEMINI_PREVIEW = 'vertex/google/gemini-2.5-flash-image-preview';
export const GEMINI_PREVIEW_SUCCESSOR = 'vertex/google/gemini-3.1-flash-lite-image';

/** What a response for the preview id says of its lifecycle: no Deprecation (the catalogue gives no deprecated_on). */
export const GEMINI_PREVIEW_HEADERS = {
  served: GEMINI_PREVIEW_SUCCESSOR,
  deprecation: null,
  sunset: 'Fri, 31 Oct 2025 00:00:00 GMT',
  link: '</v1/models/vertex%2Fgoogle%2Fgemini-3.1-flash-lite-image>; rel="successor-version"',
};
