import sharp from 'sharp';
import { FakeHttpServer, type RecordedRequest, type ScriptedResponse } from './fake-http.server.js';

/** Output image tokens per image for gpt-image-1 (upstreams.md §5.2), used to fake `usage`. */
export const OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

const ALLOWED_FIELDS = new Set([
  'prompt',
  'model',
  'n',
  'size',
  'quality',
  'background',
  'output_format',
  'output_compression',
  'moderation',
  'user',
  'stream',
  'partial_images',
]);
const SIZES = new Set(['auto', '1024x1024', '1536x1024', '1024x1536']);
const QUALITIES = new Set(['auto', 'low', 'medium', 'high']);
const BACKGROUNDS = new Set(['auto', 'transparent', 'opaque']);
const FORMATS = new Set(['png', 'jpeg']);

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
  deployments: string[];
  apiVersions?: string[];
}

/**
 * Azure OpenAI `images/generations` for GPT image models, as strict as the real one: checks the
 * path, `api-version` and `api-key`, rejects unknown or invalid parameters (including
 * `response_format`), and answers real PNG/JPEG bytes in base64 with `usage`.
 */
export class FakeAzureOpenAiServer extends FakeHttpServer {
  private readonly imageCache = new Map<string, string>();

  constructor(private readonly options: FakeAzureOptions) {
    super();
  }

  /** The image generation requests that reached a deployment. */
  get generationRequests(): RecordedRequest[] {
    return this.requests.filter((request) => /\/images\/generations$/.test(request.path));
  }

  protected async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    const match = /^\/openai\/deployments\/([^/]+)\/images\/generations$/.exec(request.path);
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
    if (!this.options.deployments.includes(decodeURIComponent(match[1]!))) {
      return {
        status: 404,
        body: {
          error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' },
        },
      };
    }
    const problem = validate(request.body);
    if (problem) {
      return {
        status: 400,
        body: {
          error: { code: problem.code, message: problem.message, param: problem.param, type: 'invalid_request_error' },
        },
      };
    }
    const body = request.body as Record<string, unknown>;
    const result = await this.success(body);
    if (body.stream !== true) return { status: 200, body: result };
    return { status: 200, stream: { events: this.streamEvents(body, result), intervalMs: 5 } };
  }

  /** OpenAI's image streaming events, as Azure sends them: partial frames, then each completed image. */
  private streamEvents(
    body: Record<string, unknown>,
    result: Awaited<ReturnType<FakeAzureOpenAiServer['success']>>,
  ): string[] {
    const settings = {
      background: result.background,
      output_format: result.output_format,
      quality: result.quality,
      size: result.size,
    };
    const frame = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const events: string[] = [];
    for (const image of result.data) {
      for (let index = 0; index < ((body.partial_images as number | undefined) ?? 0); index++) {
        events.push(
          frame('image_generation.partial_image', {
            b64_json: image.b64_json,
            created_at: result.created,
            partial_image_index: index,
            ...settings,
          }),
        );
      }
      events.push(
        frame('image_generation.completed', {
          b64_json: image.b64_json,
          created_at: result.created,
          ...settings,
          usage: result.usage,
        }),
      );
    }
    return events;
  }

  private async success(body: Record<string, unknown>) {
    const n = (body.n as number | undefined) ?? 1;
    const size = (body.size as string | undefined) ?? 'auto';
    const realSize = size === 'auto' ? '1024x1024' : size;
    const quality = (body.quality as string | undefined) ?? 'auto';
    const realQuality = quality === 'auto' ? 'high' : quality;
    const format = (body.output_format as string | undefined) ?? 'png';
    const background = (body.background as string | undefined) === 'transparent' ? 'transparent' : 'opaque';
    const image = await this.image(realSize, format, background === 'transparent');
    const textTokens = Math.ceil((body.prompt as string).length / 4);
    const outputTokens = OUTPUT_TOKENS[realQuality]![realSize]! * n;
    return {
      created: Math.floor(Date.now() / 1000),
      background,
      output_format: format,
      quality: realQuality,
      size: realSize,
      data: Array.from({ length: n }, () => ({
        b64_json: image,
        content_filter_results: {},
      })),
      usage: {
        input_tokens: textTokens,
        input_tokens_details: { text_tokens: textTokens, image_tokens: 0 },
        output_tokens: outputTokens,
        total_tokens: textTokens + outputTokens,
      },
    };
  }

  private async image(size: string, format: string, transparent: boolean): Promise<string> {
    const key = `${size}.${format}.${transparent}`;
    const cached = this.imageCache.get(key);
    if (cached) return cached;
    const [width, height] = size.split('x').map(Number) as [number, number];
    const base = sharp({
      create: {
        width,
        height,
        channels: 4,
        background: transparent ? { r: 0, g: 0, b: 0, alpha: 0 } : { r: 40, g: 90, b: 160, alpha: 1 },
      },
    });
    const bytes = await (format === 'jpeg' ? base.jpeg() : base.png()).toBuffer();
    const encoded = bytes.toString('base64');
    this.imageCache.set(key, encoded);
    return encoded;
  }
}

function validate(body: unknown): { code: string; message: string; param: string } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { code: 'invalid_request_error', message: 'Invalid JSON body.', param: '' };
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!ALLOWED_FIELDS.has(key))
      return { code: 'unknown_parameter', message: `Unknown parameter: '${key}'.`, param: key };
  }
  const invalid = (param: string, message: string) => ({ code: 'invalid_value', message, param });
  if (typeof fields.prompt !== 'string' || fields.prompt.length === 0 || fields.prompt.length > 32000)
    return invalid('prompt', 'Invalid prompt.');
  if (fields.n !== undefined && (!Number.isInteger(fields.n) || (fields.n as number) < 1 || (fields.n as number) > 10))
    return invalid('n', 'Invalid n.');
  if (fields.size !== undefined && !SIZES.has(fields.size as string)) return invalid('size', 'Invalid size.');
  if (fields.quality !== undefined && !QUALITIES.has(fields.quality as string))
    return invalid('quality', 'Invalid quality.');
  if (fields.background !== undefined && !BACKGROUNDS.has(fields.background as string))
    return invalid('background', 'Invalid background.');
  if (fields.output_format !== undefined && !FORMATS.has(fields.output_format as string))
    return invalid('output_format', 'Invalid output_format.');
  if (fields.background === 'transparent' && (fields.output_format ?? 'png') !== 'png')
    return invalid('background', 'Transparent needs png.');
  if (fields.output_compression !== undefined) {
    const value = fields.output_compression;
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 100)
      return invalid('output_compression', 'Invalid output_compression.');
    if (fields.output_format !== 'jpeg') return invalid('output_compression', 'output_compression needs jpeg.');
  }
  if (fields.moderation !== undefined && !['low', 'auto'].includes(fields.moderation as string))
    return invalid('moderation', 'Invalid moderation.');
  if (fields.user !== undefined && typeof fields.user !== 'string') return invalid('user', 'Invalid user.');
  if (fields.stream !== undefined && typeof fields.stream !== 'boolean') return invalid('stream', 'Invalid stream.');
  if (fields.partial_images !== undefined) {
    const value = fields.partial_images;
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 3)
      return invalid('partial_images', 'Invalid partial_images.');
    if (fields.stream !== true) return invalid('partial_images', 'partial_images needs stream.');
  }
  return undefined;
}
