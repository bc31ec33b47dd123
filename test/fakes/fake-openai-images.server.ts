import sharp from 'sharp';
import { FakeHttpServer, type RecordedRequest, type ScriptedResponse } from './fake-http.server.js';
import { sniffImageType } from './image-bytes.js';
import { type FormPart, isMultipartFormData } from './multipart-form.js';

/*
 * OpenAI's Images API for the GPT image models, as the public API and Azure OpenAI both serve it:
 * the body rules, the edit form, the per-model rules, the answers and the streams. Each flavour
 * (`FakeOpenAiServer`, `FakeAzureOpenAiServer`) adds its URLs, credentials and how a request names
 * its model.
 */

/** Output image tokens per image for gpt-image-1 and 1.5 (upstreams.md §5.2), used to fake `usage`. */
export const OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

/**
 * Output image tokens per 1024x1024 image for gpt-image-2 and later, by quality: gpt-image-2.5's
 * measured counts (models-and-edits-2026.md §2.3); other sizes scale by their pixels, rounded up.
 * Made up beyond that, but fixed, so tests can assert exact usage.
 */
export const SQUARE_OUTPUT_TOKENS_V2: Record<string, number> = {
  low: 196,
  medium: 439,
  high: 1756,
  xhigh: 3122,
  max: 7024,
};

/**
 * Input image tokens this fake bills per edited image (the mask is not counted), by
 * `input_fidelity` (absent = low; gpt-image-2 and later always edit at high fidelity). Made up but
 * fixed, so tests can assert exact usage.
 */
export const EDIT_INPUT_IMAGE_TOKENS = { low: 323, high: 4096 } as const;

export type ImagesEndpoint = 'generations' | 'edits';

const GENERATION_FIELDS = new Set([
  'prompt',
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
/** Edits take a generation's fields (no `response_format` either) and `input_fidelity`. */
const EDIT_FIELDS = new Set([...GENERATION_FIELDS, 'input_fidelity']);
/** Edit form fields that are integers on the wire as decimal text. */
const EDIT_INTEGER_FIELDS = new Set(['n', 'output_compression', 'partial_images']);
const EDIT_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const MASK_TYPES = ['image/png'];
const MAX_EDIT_IMAGES = 16;
const MAX_EDIT_IMAGE_BYTES = 50 * 1024 * 1024;
const MAX_MASK_BYTES = 4 * 1024 * 1024;

const SIZES = new Set(['auto', '1024x1024', '1536x1024', '1024x1536']);
const QUALITIES = ['auto', 'low', 'medium', 'high'];
const BACKGROUNDS = new Set(['auto', 'transparent', 'opaque']);
/** Free `WxH` sizes of gpt-image-2 and later (models-and-edits-2026.md §2.1). */
const CUSTOM_SIZE = { multipleOf: 16, maxEdge: 3840, minPixels: 655_360, maxPixels: 8_294_400, maxAspectRatio: 3 };

/** What a GPT image model takes beyond gpt-image-1's parameters, by its name (§2.1, §4.1, §5 item 7). */
export interface ModelRules {
  /** gpt-image-2 and later: any `WxH` within `CUSTOM_SIZE`, besides the listed sizes. */
  customSizes: boolean;
  /** gpt-image-2.5 and later add `xhigh` and `max`. */
  qualities: ReadonlySet<string>;
  /**
   * `input_fidelity`: a parameter of gpt-image-1 and 1.5 (default low); refused by gpt-image-1-mini,
   * which edits at low fidelity, and by gpt-image-2 and later, which edit at high fidelity.
   */
  inputFidelity: 'parameter' | 'low' | 'high';
}

/** The rules of a model by its name (`gpt-image-2.6-flare`; a name that is not a version reads as gpt-image-1). */
export function modelRules(model: string): ModelRules {
  const [, major = '1', minor = '0'] = /^gpt-image-(\d+)(?:\.(\d+))?/.exec(model) ?? [];
  const version = Number(major) + Number(minor) / 10;
  return {
    customSizes: version >= 2,
    qualities: new Set(version >= 2.5 ? [...QUALITIES, 'xhigh', 'max'] : QUALITIES),
    inputFidelity: version >= 2 ? 'high' : model.includes('-mini') ? 'low' : 'parameter',
  };
}

/** Output image tokens this fake bills per image of `model` for a quality (not `auto`) and a `WxH`. */
export function outputImageTokens(model: string, quality: string, size: string): number {
  if (!modelRules(model).customSizes) return OUTPUT_TOKENS[quality]![size]!;
  const [width, height] = size.split('x').map(Number) as [number, number];
  return Math.ceil((SQUARE_OUTPUT_TOKENS_V2[quality]! * width * height) / (1024 * 1024));
}

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

/** How one upstream serves the protocol, besides its URLs and credentials. */
export interface ImagesFlavour {
  /** The output formats it makes. */
  formats: readonly string[];
  /** The endpoints whose body may carry a `model` field. */
  modelField: readonly ImagesEndpoint[];
}

/** An images call whose URL and credentials passed: its endpoint, and the model its URL names, if it does. */
export interface RoutedCall {
  endpoint: ImagesEndpoint;
  model?: string;
}

export interface Problem {
  code: string;
  message: string;
  param: string;
}

export function badRequest(problem: Problem): ScriptedResponse {
  return {
    status: 400,
    body: {
      error: { code: problem.code, message: problem.message, param: problem.param, type: 'invalid_request_error' },
    },
  };
}

/**
 * The images endpoints as strict as the real upstream: unknown or invalid parameters (including
 * `response_format`) are refused with OpenAI's 400 naming the parameter, each model's own rules
 * apply (`modelRules`), and a valid request is answered with real PNG/JPEG/WebP bytes in base64
 * and `usage`, or streamed. Edits must be multipart with every file a real image under its true
 * MIME type (see `edit()`).
 */
export abstract class FakeOpenAiImagesServer extends FakeHttpServer {
  private readonly imageCache = new Map<string, string>();

  protected constructor(private readonly flavour: ImagesFlavour) {
    super();
  }

  /** The image generation requests that reached the upstream. */
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

  /**
   * Where a request goes, checked as the upstream checks it before reading the body: its URL and
   * credentials (a refusal when they are wrong); `undefined` for a route it does not have.
   */
  protected abstract route(request: RecordedRequest): RoutedCall | ScriptedResponse | undefined;

  /** The model a call serves, once its body is read: the URL's, or its `model` field's; else the refusal. */
  protected abstract modelOf(call: RoutedCall, body: Record<string, unknown>): string | ScriptedResponse;

  protected async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    const call = this.route(request);
    if (!call || !('endpoint' in call)) return call;
    if (call.endpoint === 'edits') return this.edit(request, call);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return badRequest({ code: 'invalid_request_error', message: 'Invalid JSON body.', param: '' });
    }
    const fields = body as Record<string, unknown>;
    const model = this.modelOf(call, fields);
    if (typeof model !== 'string') return model;
    const problem = validate(fields, this.fieldsOf('generations'), model, this.flavour.formats);
    if (problem) return badRequest(problem);
    const result = await this.success(fields, model);
    if (fields.stream !== true) return { status: 200, body: result };
    return { status: 200, stream: { events: this.streamEvents(fields, result, 'image_generation'), intervalMs: 5 } };
  }

  private fieldsOf(endpoint: ImagesEndpoint): Set<string> {
    const fields = endpoint === 'edits' ? EDIT_FIELDS : GENERATION_FIELDS;
    return this.flavour.modelField.includes(endpoint) ? new Set([...fields, 'model']) : fields;
  }

  /**
   * `images/edits`: a multipart form of `image` (one file) or repeated `image[]` (1–16), an
   * optional PNG `mask` the size of the first image, and the generation options as text (plus
   * `input_fidelity`). Each file must be declared with its true image type (not
   * `application/octet-stream`) and be that image; files and text fields must not swap places.
   */
  private async edit(request: RecordedRequest, call: RoutedCall): Promise<ScriptedResponse> {
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
    const allowed = this.fieldsOf('edits');
    const form = readEditForm(request.form, allowed);
    if ('problem' in form) return badRequest(form.problem);
    const body = editBody(form.fields);
    const model = this.modelOf(call, body);
    if (typeof model !== 'string') return model;
    const problem = validate(body, allowed, model, this.flavour.formats);
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
    const result = await this.success(body, model, {
      images: form.images.length,
      autoSize: SIZES.has(firstSize) ? firstSize : '1024x1024',
    });
    if (body.stream !== true) return { status: 200, body: result };
    return { status: 200, stream: { events: this.streamEvents(body, result, 'image_edit'), intervalMs: 5 } };
  }

  /**
   * OpenAI's image streaming events: partial frames, then each completed image with the usage;
   * generations name them `image_generation.*`, edits `image_edit.*`.
   */
  private streamEvents(
    body: Record<string, unknown>,
    result: Awaited<ReturnType<FakeOpenAiImagesServer['success']>>,
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
  private async success(body: Record<string, unknown>, model: string, edit?: { images: number; autoSize: string }) {
    const n = (body.n as number | undefined) ?? 1;
    const size = (body.size as string | undefined) ?? 'auto';
    const realSize = size === 'auto' ? (edit?.autoSize ?? '1024x1024') : size;
    const quality = (body.quality as string | undefined) ?? 'auto';
    const realQuality = quality === 'auto' ? 'high' : quality;
    const format = (body.output_format as string | undefined) ?? 'png';
    const background = (body.background as string | undefined) === 'transparent' ? 'transparent' : 'opaque';
    const image = await this.image(realSize, format, background === 'transparent');
    const textTokens = Math.ceil((body.prompt as string).length / 4);
    const rule = modelRules(model).inputFidelity;
    const fidelity = rule === 'parameter' ? (body.input_fidelity === 'high' ? 'high' : 'low') : rule;
    const imageTokens = edit ? edit.images * EDIT_INPUT_IMAGE_TOKENS[fidelity] : 0;
    const inputTokens = textTokens + imageTokens;
    const outputTokens = outputImageTokens(model, realQuality, realSize) * n;
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
        output_tokens_details: { image_tokens: outputTokens, text_tokens: 0 },
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
    const bytes = await (format === 'jpeg' ? base.jpeg() : format === 'webp' ? base.webp() : base.png()).toBuffer();
    const encoded = bytes.toString('base64');
    this.imageCache.set(key, encoded);
    return encoded;
  }
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
  allowed: Set<string>,
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
    if (!allowed.has(part.name)) return fail('unknown_parameter', part.name, `Unknown parameter: '${part.name}'.`);
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

/** Why a `size` is not one `model` makes, if it is not. */
function sizeProblem(value: unknown, model: string): string | undefined {
  const size = typeof value === 'string' ? value : '';
  if (SIZES.has(size)) return undefined;
  const match = /^([1-9]\d*)x([1-9]\d*)$/.exec(size);
  if (!match || !modelRules(model).customSizes) {
    return `Invalid size. Supported sizes are ${[...SIZES].map((s) => `'${s}'`).join(', ')}.`;
  }
  const [width, height] = [Number(match[1]), Number(match[2])];
  const { multipleOf, maxEdge, minPixels, maxPixels, maxAspectRatio } = CUSTOM_SIZE;
  if (width % multipleOf !== 0 || height % multipleOf !== 0)
    return `Invalid size '${size}': both dimensions must be divisible by ${multipleOf}.`;
  if (Math.max(width, height) > maxEdge) return `Invalid size '${size}': no edge may exceed ${maxEdge} pixels.`;
  if (width * height < minPixels || width * height > maxPixels)
    return `Invalid size '${size}': the total pixels must be between ${minPixels} and ${maxPixels}.`;
  if (Math.max(width, height) > maxAspectRatio * Math.min(width, height))
    return `Invalid size '${size}': the aspect ratio must be between 1:${maxAspectRatio} and ${maxAspectRatio}:1.`;
  return undefined;
}

function validate(
  fields: Record<string, unknown>,
  allowed: Set<string>,
  model: string,
  formats: readonly string[],
): Problem | undefined {
  for (const key of Object.keys(fields)) {
    if (!allowed.has(key)) return { code: 'unknown_parameter', message: `Unknown parameter: '${key}'.`, param: key };
  }
  const rules = modelRules(model);
  const invalid = (param: string, message: string) => ({ code: 'invalid_value', message, param });
  if (fields.prompt === undefined)
    return { code: 'missing_required_parameter', message: "Missing required parameter: 'prompt'.", param: 'prompt' };
  if (typeof fields.prompt !== 'string' || fields.prompt.length === 0 || fields.prompt.length > 32000)
    return invalid('prompt', 'Invalid prompt.');
  if (fields.n !== undefined && (!Number.isInteger(fields.n) || (fields.n as number) < 1 || (fields.n as number) > 10))
    return invalid('n', 'Invalid n.');
  const size = fields.size === undefined ? undefined : sizeProblem(fields.size, model);
  if (size) return invalid('size', size);
  if (fields.quality !== undefined && !rules.qualities.has(fields.quality as string))
    return invalid('quality', `Invalid quality. Supported values are ${[...rules.qualities].join(', ')}.`);
  if (fields.background !== undefined && !BACKGROUNDS.has(fields.background as string))
    return invalid('background', 'Invalid background.');
  if (fields.output_format !== undefined && !formats.includes(fields.output_format as string))
    return invalid('output_format', 'Invalid output_format.');
  if (fields.background === 'transparent' && !['png', 'webp'].includes((fields.output_format as string) ?? 'png'))
    return invalid('background', 'Transparent needs png or webp.');
  if (fields.output_compression !== undefined) {
    const value = fields.output_compression;
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 100)
      return invalid('output_compression', 'Invalid output_compression.');
    if (!['jpeg', 'webp'].includes(fields.output_format as string))
      return invalid('output_compression', 'output_compression needs jpeg or webp.');
  }
  if (fields.moderation !== undefined && !['low', 'auto'].includes(fields.moderation as string))
    return invalid('moderation', 'Invalid moderation.');
  if (fields.input_fidelity !== undefined && rules.inputFidelity !== 'parameter') {
    return {
      code: 'unsupported_parameter',
      message: "Unsupported parameter: 'input_fidelity' is not supported with this model.",
      param: 'input_fidelity',
    };
  }
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
