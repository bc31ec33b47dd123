import sharp from 'sharp';
import { FakeHttpServer, type RecordedRequest, type ScriptedResponse } from './fake-http.server.js';
import { sniffImageType } from './image-bytes.js';
import { type FormPart, isMultipartFormData } from './multipart-form.js';

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
/** `images/edits` takes no `model` (the deployment names it) and, like generations, no `response_format`. */
const EDIT_FIELDS = new Set([...ALLOWED_FIELDS].filter((field) => field !== 'model').concat('input_fidelity'));
/** Edit form fields that are integers on the wire as decimal text. */
const EDIT_INTEGER_FIELDS = new Set(['n', 'output_compression', 'partial_images']);
const EDIT_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const MASK_TYPES = ['image/png'];
const MAX_EDIT_IMAGES = 16;
const MAX_EDIT_IMAGE_BYTES = 50 * 1024 * 1024;
const MAX_MASK_BYTES = 4 * 1024 * 1024;
/**
 * Input image tokens this fake bills per edited image (the mask is not counted), by
 * `input_fidelity` (absent = low). Made up but fixed, so tests can assert exact usage.
 */
export const EDIT_INPUT_IMAGE_TOKENS = { low: 323, high: 4096 } as const;

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

/** One file of a recorded edit, as it reached the fake. */
export interface RecordedEditFile {
  /** The form field: `image`, `image[]` or `mask` (or a text field wrongly sent as a file). */
  field: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** A multipart `images/edits` request, read back as the fields and files that reached the upstream. */
export interface RecordedEdit {
  request: RecordedRequest;
  /** The text fields (a repeated one, which the fake refuses, keeps its last value). */
  fields: Record<string, string>;
  /** The file parts, in wire order. */
  files: RecordedEditFile[];
}

export interface FakeAzureOptions {
  apiKey: string;
  deployments: string[];
  apiVersions?: string[];
}

/**
 * Azure OpenAI `images/generations` and `images/edits` for GPT image models, as strict as the real
 * one: checks the path, `api-version` and `api-key`, rejects unknown or invalid parameters
 * (including `response_format`), and answers real PNG/JPEG bytes in base64 with `usage`. Edits
 * must be multipart with every file a real image under its true MIME type (see `edit()`).
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

  /**
   * The multipart requests to an `images/edits` route, in order, whatever was answered (scripted
   * answers and refusals included); a body that is not multipart or does not parse is left out.
   */
  get editRequests(): RecordedEdit[] {
    return this.requests.flatMap((request) => {
      if (!/\/images\/edits$/.test(request.path) || !request.form) return [];
      const fields: Record<string, string> = {};
      const files: RecordedEditFile[] = [];
      for (const part of request.form) {
        if (part.filename === undefined) fields[part.name] = part.bytes.toString('utf8');
        else
          files.push({ field: part.name, filename: part.filename, contentType: part.contentType, bytes: part.bytes });
      }
      return [{ request, fields, files }];
    });
  }

  protected async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
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
    if (!this.options.deployments.includes(decodeURIComponent(match[1]!))) {
      return {
        status: 404,
        body: {
          error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' },
        },
      };
    }
    if (match[2] === 'edits') return this.edit(request);
    const problem = validate(request.body, ALLOWED_FIELDS);
    if (problem) return badRequest(problem);
    const body = request.body as Record<string, unknown>;
    const result = await this.success(body);
    if (body.stream !== true) return { status: 200, body: result };
    return { status: 200, stream: { events: this.streamEvents(body, result, 'image_generation'), intervalMs: 5 } };
  }

  /**
   * `images/edits`: a multipart form of `image` (one file) or repeated `image[]` (1–16), an
   * optional PNG `mask` the size of the first image, and the generation options as text (plus
   * `input_fidelity`). Each file must be declared with its true image type (not
   * `application/octet-stream`) and be that image; files and text fields must not swap places.
   */
  private async edit(request: RecordedRequest): Promise<ScriptedResponse> {
    const contentType = request.headers['content-type'];
    if (!isMultipartFormData(contentType)) {
      return badRequest({
        code: 'invalid_request_error',
        message: `Unsupported content type: '${contentType ?? ''}'. This API method only accepts 'multipart/form-data'.`,
        param: '',
      });
    }
    if (!request.form) {
      return badRequest({
        code: 'invalid_request_error',
        message: 'Could not parse multipart form: a boundary and a well-formed body are required.',
        param: '',
      });
    }
    const form = readEditForm(request.form);
    if ('problem' in form) return badRequest(form.problem);
    const body = editBody(form.fields);
    const problem = validate(body, EDIT_FIELDS);
    if (problem) return badRequest(problem);

    const sizes: Array<{ width: number; height: number }> = [];
    for (const image of form.images) {
      const inspected = await inspectFile(image, EDIT_IMAGE_TYPES, MAX_EDIT_IMAGE_BYTES);
      if ('problem' in inspected) return badRequest(inspected.problem);
      sizes.push(inspected);
    }
    const first = sizes[0]!;
    if (form.mask) {
      const mask = await inspectFile(form.mask, MASK_TYPES, MAX_MASK_BYTES);
      if ('problem' in mask) return badRequest(mask.problem);
      if (mask.width !== first.width || mask.height !== first.height) {
        return badRequest({
          code: 'invalid_value',
          message: `Invalid mask: it must have the same dimensions as the first image (${first.width}x${first.height}), got ${mask.width}x${mask.height}.`,
          param: 'mask',
        });
      }
    }

    const firstSize = `${first.width}x${first.height}`;
    const result = await this.success(body, {
      images: form.images.length,
      autoSize: SIZES.has(firstSize) ? firstSize : '1024x1024',
    });
    if (body.stream !== true) return { status: 200, body: result };
    return { status: 200, stream: { events: this.streamEvents(body, result, 'image_edit'), intervalMs: 5 } };
  }

  /**
   * OpenAI's image streaming events, as Azure sends them: partial frames, then each completed
   * image; generations name them `image_generation.*`, edits `image_edit.*`.
   */
  private streamEvents(
    body: Record<string, unknown>,
    result: Awaited<ReturnType<FakeAzureOpenAiServer['success']>>,
    kind: 'image_generation' | 'image_edit',
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
          frame(`${kind}.partial_image`, {
            b64_json: image.b64_json,
            created_at: result.created,
            partial_image_index: index,
            ...settings,
          }),
        );
      }
      events.push(
        frame(`${kind}.completed`, {
          b64_json: image.b64_json,
          created_at: result.created,
          ...settings,
          usage: result.usage,
        }),
      );
    }
    return events;
  }

  /** The answer to a valid request; `edit` describes the input images of an edit. */
  private async success(body: Record<string, unknown>, edit?: { images: number; autoSize: string }) {
    const n = (body.n as number | undefined) ?? 1;
    const size = (body.size as string | undefined) ?? 'auto';
    const realSize = size === 'auto' ? (edit?.autoSize ?? '1024x1024') : size;
    const quality = (body.quality as string | undefined) ?? 'auto';
    const realQuality = quality === 'auto' ? 'high' : quality;
    const format = (body.output_format as string | undefined) ?? 'png';
    const background = (body.background as string | undefined) === 'transparent' ? 'transparent' : 'opaque';
    const image = await this.image(realSize, format, background === 'transparent');
    const textTokens = Math.ceil((body.prompt as string).length / 4);
    const imageTokens = edit
      ? edit.images * EDIT_INPUT_IMAGE_TOKENS[body.input_fidelity === 'high' ? 'high' : 'low']
      : 0;
    const inputTokens = textTokens + imageTokens;
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
        input_tokens: inputTokens,
        input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens },
        output_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
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

interface Problem {
  code: string;
  message: string;
  param: string;
}

function badRequest(problem: Problem): ScriptedResponse {
  return {
    status: 400,
    body: {
      error: { code: problem.code, message: problem.message, param: problem.param, type: 'invalid_request_error' },
    },
  };
}

interface EditFile {
  /** How errors name it: `image`, `image[<i>]` or `mask`. */
  param: string;
  part: FormPart;
}

/**
 * Sorts an edit form into text fields, images and mask, refusing what OpenAI refuses: a file
 * where text belongs or text where a file belongs, an unknown field, a repeated field (several
 * images go as repeated `image[]`, never repeated `image`), and `image` mixed with `image[]`.
 */
function readEditForm(
  parts: FormPart[],
): { problem: Problem } | { fields: Record<string, string>; images: EditFile[]; mask?: EditFile } {
  const fields: Record<string, string> = {};
  const images: EditFile[] = [];
  let mask: EditFile | undefined;
  let plain = 0;
  let array = 0;
  const fail = (code: string, param: string, message: string) => ({ problem: { code, param, message } });
  for (const part of parts) {
    const isFile = part.filename !== undefined;
    if (part.name === 'image' || part.name === 'image[]' || part.name === 'mask') {
      const param = part.name === 'image[]' ? `image[${array}]` : part.name;
      if (!isFile)
        return fail('invalid_type', param, `Invalid type for '${param}': expected a file, but got a string.`);
      if ((part.name === 'image' && plain > 0) || (part.name === 'mask' && mask)) {
        const hint = part.name === 'image' ? " Send several images as repeated 'image[]' parts." : '';
        return fail('duplicate_parameter', param, `Duplicate parameter: '${param}'.${hint}`);
      }
      if (part.name === 'image') plain++;
      if (part.name === 'image[]') array++;
      if (part.name === 'mask') mask = { param, part };
      else images.push({ param, part });
      continue;
    }
    if (!EDIT_FIELDS.has(part.name)) return fail('unknown_parameter', part.name, `Unknown parameter: '${part.name}'.`);
    if (isFile)
      return fail('invalid_type', part.name, `Invalid type for '${part.name}': expected a string, but got a file.`);
    if (Object.hasOwn(fields, part.name))
      return fail('duplicate_parameter', part.name, `Duplicate parameter: '${part.name}'.`);
    fields[part.name] = part.bytes.toString('utf8');
  }
  if (plain > 0 && array > 0)
    return fail('invalid_value', 'image', "Send either one 'image' or repeated 'image[]' parts, not both.");
  if (images.length === 0) return fail('missing_required_parameter', 'image', "Missing required parameter: 'image'.");
  if (images.length > MAX_EDIT_IMAGES) {
    return fail(
      'invalid_value',
      'image',
      `Too many images: ${images.length} were given, at most ${MAX_EDIT_IMAGES} are allowed.`,
    );
  }
  return { fields, images, ...(mask ? { mask } : {}) };
}

/**
 * The form's text as the JSON a generation takes, for the same validation: decimal integers
 * become numbers and `true`/`false` booleans; anything else stays text, which then fails there.
 */
function editBody(fields: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (EDIT_INTEGER_FIELDS.has(name) && /^\d+$/.test(value)) body[name] = Number(value);
    else if (name === 'stream' && (value === 'true' || value === 'false')) body[name] = value === 'true';
    else body[name] = value;
  }
  return body;
}

/** Checks an uploaded file's declared type, size and bytes; answers its pixel size. */
async function inspectFile(
  { param, part }: EditFile,
  types: string[],
  maxBytes: number,
): Promise<{ problem: Problem } | { width: number; height: number }> {
  const fail = (code: string, message: string) => ({ problem: { code, param, message } });
  if (!types.includes(part.contentType)) {
    const supported = types.map((type) => `'${type}'`);
    const list = supported.length > 1 ? `${supported.slice(0, -1).join(', ')}, and ${supported.at(-1)}` : supported[0];
    return fail(
      'unsupported_file_mimetype',
      `Invalid file '${param}': unsupported mimetype ('${part.contentType}'). Supported file formats are ${list}.`,
    );
  }
  if (part.bytes.length > maxBytes)
    return fail('file_too_large', `Invalid file '${param}': ${part.bytes.length} bytes, the limit is ${maxBytes}.`);
  if (sniffImageType(part.bytes) !== part.contentType)
    return fail('invalid_image_file', `Invalid file '${param}': the bytes are not a valid ${part.contentType} image.`);
  try {
    const { width, height } = await sharp(part.bytes).metadata();
    return { width, height };
  } catch {
    return fail('invalid_image_file', `Invalid file '${param}': the image could not be decoded.`);
  }
}

function validate(body: unknown, allowed: Set<string>): Problem | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { code: 'invalid_request_error', message: 'Invalid JSON body.', param: '' };
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!allowed.has(key)) return { code: 'unknown_parameter', message: `Unknown parameter: '${key}'.`, param: key };
  }
  const invalid = (param: string, message: string) => ({ code: 'invalid_value', message, param });
  if (fields.prompt === undefined)
    return { code: 'missing_required_parameter', message: "Missing required parameter: 'prompt'.", param: 'prompt' };
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
  if (fields.input_fidelity !== undefined && !['high', 'low'].includes(fields.input_fidelity as string))
    return invalid('input_fidelity', 'Invalid input_fidelity.');
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
