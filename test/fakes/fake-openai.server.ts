import type { RecordedRequest, ScriptedResponse } from './fake-http.server.js';
import { badRequest, FakeOpenAiImagesServer, type RoutedCall } from './fake-openai-images.server.js';

export interface FakeOpenAiOptions {
  apiKey: string;
  /** The models the key may use (`gpt-image-2`, `gpt-image-2.6-sunburst`); their rules apply (`modelRules`). */
  models: string[];
}

/** OpenAI's refusal of a request without `Authorization: Bearer …`. */
const NO_KEY = {
  error: {
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    type: 'invalid_request_error',
    param: null,
    code: null,
  },
};

/** OpenAI's refusal of a wrong key (the real one echoes a masked key; this fake echoes none). */
const INVALID_KEY = {
  error: {
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
};

/**
 * The public OpenAI API's `POST /v1/images/generations` and `/v1/images/edits` for GPT image
 * models, as strict as the real one: `Authorization: Bearer <key>` (else 401 in OpenAI's shape),
 * then OpenAI's images protocol (`FakeOpenAiImagesServer`) with png, jpeg and webp. The body names
 * the model (`model`, a JSON field or a form field), which must be one of `models` (else 404
 * `model_not_found`). Point a client at `${baseUrl}/v1`.
 */
export class FakeOpenAiServer extends FakeOpenAiImagesServer {
  constructor(private readonly options: FakeOpenAiOptions) {
    super({ formats: ['png', 'jpeg', 'webp'], modelField: ['generations', 'edits'] });
  }

  protected route(request: RecordedRequest): RoutedCall | ScriptedResponse | undefined {
    const match = /^\/v1\/images\/(generations|edits)$/.exec(request.path);
    if (!match || request.method !== 'POST') return undefined;
    const authorization = request.headers.authorization;
    if (!authorization) return { status: 401, body: NO_KEY };
    if (authorization !== `Bearer ${this.options.apiKey}`) return { status: 401, body: INVALID_KEY };
    return { endpoint: match[1] as RoutedCall['endpoint'] };
  }

  /**
   * The body's `model`. The real API falls back to a default model when it is missing (dall-e-2
   * for generations, gpt-image-1.5 for edits: both retired by now), which Easel must never rely
   * on, so this fake refuses it.
   */
  protected modelOf(_call: RoutedCall, body: Record<string, unknown>): string | ScriptedResponse {
    const model = body.model;
    if (model === undefined) {
      return badRequest({
        code: 'missing_required_parameter',
        message: "Missing required parameter: 'model'.",
        param: 'model',
      });
    }
    if (typeof model !== 'string' || !this.options.models.includes(model)) {
      return {
        status: 404,
        body: {
          error: {
            message: `The model \`${typeof model === 'string' ? model : JSON.stringify(model)}\` does not exist or you do not have access to it.`,
            type: 'invalid_request_error',
            param: null,
            code: 'model_not_found',
          },
        },
      };
    }
    return model;
  }
}
