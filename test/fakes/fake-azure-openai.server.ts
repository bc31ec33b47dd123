import type { RecordedRequest, ScriptedResponse } from './fake-http.server.js';
import { FakeOpenAiImagesServer, type RoutedCall } from './fake-openai-images.server.js';

export {
  EDIT_INPUT_IMAGE_TOKENS,
  OUTPUT_TOKENS,
  type RecordedEdit,
  type RecordedEditFile,
} from './fake-openai-images.server.js';

/**
 * The intermittent refusal of a multipart edit Azure answered on `2025-04-01-preview` (status
 * 400; models-and-edits-2026.md §5 item 4), to `enqueue()`. The message is as reported; the rest
 * of the envelope is this fake's guess.
 */
export const UNSUPPORTED_MULTIPART_BODY = {
  error: {
    code: 'invalid_request_error',
    type: 'invalid_request_error',
    param: null,
    message: "Unsupported content type: 'multipart/form-data'. This API method only accepts 'application/json'.",
  },
} as const;

/** Azure's content-filter refusal for a prompt, as documented (code `contentFilter`). */
export const CONTENT_FILTER_BODIES = {
  contentFilter: {
    created: 1700000000,
    error: { code: 'contentFilter', message: 'Your request was rejected as a result of our safety system.' },
  },
  moderation_blocked: {
    error: {
      code: 'moderation_blocked',
      type: 'image_generation_user_error',
      message: 'Your request was rejected by the safety system. safety_violations=[violence].',
      param: '',
    },
  },
  content_filter: {
    error: {
      code: 'content_filter',
      status: 400,
      message: 'The response was filtered.',
      innererror: { code: 'ResponsibleAIPolicyViolation' },
    },
  },
  content_policy_violation: {
    error: {
      code: 'content_policy_violation',
      type: 'invalid_request_error',
      message: 'This request has been blocked by our content filters.',
      param: null,
    },
  },
} as const;

export interface FakeAzureOptions {
  apiKey: string;
  /**
   * The deployments of the resource. A deployment serves the model its name starts with
   * (`gpt-image-2`; `gpt-image-1-eu` is a gpt-image-1), whose rules then apply (`modelRules`).
   */
  deployments: string[];
  apiVersions?: string[];
}

/**
 * Azure OpenAI `images/generations` and `images/edits` for GPT image models, as strict as the real
 * one: checks the path, `api-version` and `api-key` first, then OpenAI's images protocol
 * (`FakeOpenAiImagesServer`) with Azure's formats (no webp). The deployment in the URL names the
 * model: a generation's body may carry `model` (ignored), an edit's form may not.
 */
export class FakeAzureOpenAiServer extends FakeOpenAiImagesServer {
  constructor(private readonly options: FakeAzureOptions) {
    super({ formats: ['png', 'jpeg'], modelField: ['generations'] });
  }

  protected route(request: RecordedRequest): RoutedCall | ScriptedResponse | undefined {
    const match = /^\/openai\/deployments\/([^/]+)\/images\/(generations|edits)$/.exec(request.path);
    if (!match || request.method !== 'POST') return undefined;
    if (request.headers['api-key'] !== this.options.apiKey) {
      return {
        status: 401,
        body: {
          error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' },
        },
      };
    }
    const apiVersion = request.query.get('api-version');
    if (!apiVersion || !(this.options.apiVersions ?? ['2025-04-01-preview']).includes(apiVersion)) {
      return { status: 404, body: { error: { code: '404', message: 'Resource not found' } } };
    }
    const deployment = decodeURIComponent(match[1]!);
    if (!this.options.deployments.includes(deployment)) {
      return {
        status: 404,
        body: {
          error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' },
        },
      };
    }
    return { endpoint: match[2] as RoutedCall['endpoint'], model: deployment };
  }

  protected modelOf(call: RoutedCall): string {
    return call.model!;
  }
}
