/** The model that needs no upstream: requests to it are free, fast and always answered. */
export const LOCAL_MODEL = 'local/easel/sketch';

/** A JSON request body, field by field as the client sends it. */
export type RequestBody = Record<string, unknown>;

/**
 * A `POST /v1/images/generations` body: the cheapest request that makes an image (the local
 * model, 256x256, base64 in the answer, so nothing is stored), unless `overrides` say otherwise.
 * A new object each call: a test may change its own.
 */
export function imageRequest(overrides: RequestBody = {}): RequestBody {
  return {
    model: LOCAL_MODEL,
    prompt: 'a lighthouse at dusk',
    size: '256x256',
    response_format: 'b64_json',
    ...overrides,
  };
}

/** Fields of a chat request body, and `content`: the text (or parts) of its one user message. */
export type ChatRequestOverrides = { content?: unknown } & RequestBody;

/**
 * A `POST /v1/chat/completions` body with one user message to the local model, unless
 * `overrides` say otherwise (`messages` replaces the one message). A new object each call.
 */
export function chatRequest({ content = 'a lighthouse at dusk', ...fields }: ChatRequestOverrides = {}): RequestBody {
  return { model: LOCAL_MODEL, messages: [{ role: 'user', content }], ...fields };
}
