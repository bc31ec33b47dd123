import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { FakeHttpServer, type RecordedRequest, type ScriptedResponse } from './fake-http.server.js';
import { sniffImageType } from './image-bytes.js';

/** The 10 aspect ratios of Gemini 2.5 Flash Image and their output pixels (upstreams.md §3.5). */
export const GEMINI_IMAGE_SIZES = {
  '1:1': { width: 1024, height: 1024 },
  '2:3': { width: 832, height: 1248 },
  '3:2': { width: 1248, height: 832 },
  '3:4': { width: 864, height: 1184 },
  '4:3': { width: 1184, height: 864 },
  '4:5': { width: 896, height: 1152 },
  '5:4': { width: 1152, height: 896 },
  '9:16': { width: 768, height: 1344 },
  '16:9': { width: 1344, height: 768 },
  '21:9': { width: 1536, height: 672 },
} as const satisfies Record<string, { width: number; height: number }>;

export type GeminiAspectRatio = keyof typeof GEMINI_IMAGE_SIZES;

/** Tokens billed for one output image, whatever the ratio (§3.5). */
export const GEMINI_OUTPUT_IMAGE_TOKENS = 1290;
/** Prompt tokens this fake counts for one input image. */
export const GEMINI_INPUT_IMAGE_TOKENS = 258;
export const GEMINI_MODEL_VERSION = 'gemini-2.5-flash-image';

const MODEL_VERSION = GEMINI_MODEL_VERSION;

/** A prompt refused before generation: HTTP 200, no candidates (§3.6). */
export const PROMPT_BLOCKED = {
  promptFeedback: {
    blockReason: 'PROHIBITED_CONTENT',
    blockReasonMessage: 'The prompt was blocked because it may contain prohibited content.',
  },
  usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
  modelVersion: MODEL_VERSION,
};

/** A generated image filtered out: HTTP 200, one candidate with no content (§3.6). */
export const IMAGE_SAFETY_REFUSAL = {
  candidates: [
    {
      finishReason: 'IMAGE_SAFETY',
      finishMessage:
        "Unable to show the generated image. The image was filtered out because it violated Google's Generative AI Prohibited Use policy.",
      index: 0,
      safetyRatings: [],
    },
  ],
  usageMetadata: {
    promptTokenCount: 7,
    candidatesTokenCount: 0,
    totalTokenCount: 7,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 7 }],
  },
  modelVersion: MODEL_VERSION,
};

/** Quota or shared capacity exhausted (answer it with status 429). */
export const RESOURCE_EXHAUSTED = {
  error: {
    code: 429,
    message:
      'Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.',
    status: 'RESOURCE_EXHAUSTED',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }],
  },
};

/** Google's internal error (answer it with status 500). */
export const INTERNAL_ERROR = {
  error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' },
};

export interface FakeVertexOptions {
  accessToken: string;
  project: string;
  location: string;
  models: string[];
}

export interface EnqueueStreamOptions {
  /** HTTP status of the stream response (default 200). */
  status?: number;
  /** Destroy the connection after this many events instead of ending the stream. */
  failAfter?: number;
  /** Delay between events (default 5 ms). */
  intervalMs?: number;
}

type Json = Record<string, unknown>;
type Part = { text: string } | { inlineData: { mimeType: string; data: string } };

const ROUTE =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const SSE_INTERVAL_MS = 5;
const TOP_LEVEL = new Set(['contents', 'systemInstruction', 'generationConfig', 'safetySettings']);
const GENERATION_CONFIG = new Set([
  'responseModalities',
  'imageConfig',
  'candidateCount',
  'temperature',
  'topP',
  'maxOutputTokens',
  'seed',
]);
const MIME_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const MAX_INPUT_IMAGES = 3;
const MAX_INPUT_IMAGE_BYTES = 7 * 1024 * 1024;
const MAX_OUTPUT_TOKENS = 32768;
const HARM_CATEGORIES = new Set([
  'HARM_CATEGORY_UNSPECIFIED',
  'HARM_CATEGORY_HATE_SPEECH',
  'HARM_CATEGORY_DANGEROUS_CONTENT',
  'HARM_CATEGORY_HARASSMENT',
  'HARM_CATEGORY_SEXUALLY_EXPLICIT',
  'HARM_CATEGORY_CIVIC_INTEGRITY',
  'HARM_CATEGORY_IMAGE_HATE',
  'HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT',
  'HARM_CATEGORY_IMAGE_HARASSMENT',
  'HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT',
  'HARM_CATEGORY_JAILBREAK',
]);
const HARM_THRESHOLDS = new Set([
  'HARM_BLOCK_THRESHOLD_UNSPECIFIED',
  'BLOCK_LOW_AND_ABOVE',
  'BLOCK_MEDIUM_AND_ABOVE',
  'BLOCK_ONLY_HIGH',
  'BLOCK_NONE',
  'OFF',
]);
const HARM_METHODS = new Set(['HARM_BLOCK_METHOD_UNSPECIFIED', 'SEVERITY', 'PROBABILITY']);
const PALETTE = [
  { r: 40, g: 90, b: 160 },
  { r: 170, g: 60, b: 50 },
  { r: 50, g: 140, b: 80 },
  { r: 200, g: 160, b: 40 },
  { r: 120, g: 60, b: 160 },
  { r: 30, g: 150, b: 160 },
  { r: 200, g: 100, b: 150 },
  { r: 90, g: 90, b: 90 },
];

/** Google's error envelope (§3.9). */
export function googleError(code: number, status: string, message: string, details?: unknown[]): ScriptedResponse {
  return {
    status: code,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: { error: { code, message, status, ...(details ? { details } : {}) } },
  };
}

class Invalid extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * Vertex AI `generateContent` / `streamGenerateContent?alt=sse` for Gemini 2.5 Flash Image, as
 * strict as the real API: checks route, bearer token, project, location and model, rejects
 * unknown fields and invalid values with Google's error shape, and answers real PNGs of the size
 * the aspect ratio names, with `usageMetadata`. Input images (`inlineData`, how gateways send an
 * edit) must be PNG, JPEG or WebP bytes under their true `mimeType`, at most 3 per request, and
 * are billed as prompt IMAGE tokens (`GEMINI_INPUT_IMAGE_TOKENS` each).
 */
export class FakeVertexServer extends FakeHttpServer {
  private readonly imageCache = new Map<string, Promise<string>>();
  private readonly streamScript: ScriptedResponse[] = [];

  constructor(private readonly options: FakeVertexOptions) {
    super();
  }

  /** Requests to either model route (`:generateContent` or `:streamGenerateContent`), valid or not. */
  get generationRequests(): RecordedRequest[] {
    return this.requests.filter((request) => ROUTE.test(request.path));
  }

  /**
   * The next `:streamGenerateContent` request that passes the route, auth and body checks is
   * answered with these events, each JSON-encoded as one `data: …\r\n\r\n` SSE event.
   */
  enqueueStream(events: unknown[], options: EnqueueStreamOptions = {}): void {
    this.streamScript.push({
      status: options.status ?? 200,
      stream: {
        events: events.map(sseEvent),
        failAfter: options.failAfter,
        intervalMs: options.intervalMs ?? SSE_INTERVAL_MS,
      },
    });
  }

  override reset(): void {
    super.reset();
    this.streamScript.length = 0;
  }

  /** The unary body this fake answers for a (valid) request body. */
  async responseFor(body: unknown): Promise<Json> {
    const plan = planOf(body as Json);
    const candidates = await Promise.all(
      Array.from({ length: plan.candidateCount }, async (_, index) => ({
        content: { role: 'model', parts: await this.partsFor(plan, index) },
        finishReason: 'STOP',
        index,
        safetyRatings: [],
      })),
    );
    return { candidates, usageMetadata: usageOf(plan), ...metadata() };
  }

  /** The SSE events (as objects) this fake streams for a (valid) request body. */
  async streamEventsFor(body: unknown): Promise<Json[]> {
    const plan = planOf(body as Json);
    const meta = metadata();
    const chunk = (index: number, parts: Part[]) => ({
      candidates: [{ content: { role: 'model', parts }, index }],
      ...meta,
    });
    const events: Json[] = [];
    for (let index = 0; index < plan.candidateCount; index++) {
      if (plan.text) {
        const text = textFor(plan);
        const half = Math.ceil(text.length / 2);
        events.push(chunk(index, [{ text: text.slice(0, half) }]), chunk(index, [{ text: text.slice(half) }]));
      }
      if (plan.image) events.push(chunk(index, [await this.imagePart(plan, index)]));
      events.push({
        candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index, safetyRatings: [] }],
        ...meta,
      });
    }
    events[events.length - 1]!.usageMetadata = usageOf(plan);
    return events;
  }

  protected override adaptScripted(request: RecordedRequest, scripted: ScriptedResponse): ScriptedResponse {
    // A 200 body enqueued for a streaming call arrives the way Vertex streams it: as one SSE event.
    if (
      isStreamPath(request.path) &&
      scripted.status === 200 &&
      scripted.body !== undefined &&
      scripted.raw === undefined &&
      !scripted.stream
    ) {
      return {
        ...scripted,
        body: undefined,
        stream: { events: [sseEvent(scripted.body)], intervalMs: SSE_INTERVAL_MS },
      };
    }
    return scripted;
  }

  protected async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    const match = ROUTE.exec(request.path);
    if (!match || request.method !== 'POST') return undefined;
    const [, project, location, model, method] = match.map((part) => decodeURIComponent(part ?? '')) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const resource = `projects/${project}/locations/${location}/publishers/google/models/${model}`;
    const rpc = `google.cloud.aiplatform.v1.PredictionService.${method === 'generateContent' ? 'GenerateContent' : 'StreamGenerateContent'}`;

    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      return googleError(
        401,
        'UNAUTHENTICATED',
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        [errorInfo('CREDENTIALS_MISSING', rpc)],
      );
    }
    if (authorization !== `Bearer ${this.options.accessToken}`) {
      return googleError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        [errorInfo('ACCESS_TOKEN_TYPE_UNSUPPORTED', rpc)],
      );
    }
    if (project !== this.options.project) {
      return googleError(
        403,
        'PERMISSION_DENIED',
        `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/${resource}' (or it may not exist).`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'aiplatform.googleapis.com',
            metadata: { permission: 'aiplatform.endpoints.predict', resource },
          },
        ],
      );
    }
    if (location !== this.options.location) {
      return googleError(
        404,
        'NOT_FOUND',
        `Location \`${location}\` is not found or not supported for project \`${project}\`.`,
      );
    }
    if (!this.options.models.includes(model)) {
      return googleError(
        404,
        'NOT_FOUND',
        `Publisher Model \`${resource}\` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`,
      );
    }

    const streaming = method === 'streamGenerateContent';
    for (const name of request.query.keys()) {
      if (name !== 'alt') {
        return badRequest(
          new Invalid(
            `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
            name,
          ),
        );
      }
    }
    const alt = request.query.get('alt');
    if (streaming && alt !== 'sse') {
      return badRequest(
        new Invalid(
          `streamGenerateContent needs alt=sse (got ${alt === null ? 'no alt' : `alt=${alt}`}): without it Vertex answers one JSON array, not an event stream.`,
          'alt',
        ),
      );
    }
    if (!streaming && alt !== null && alt !== 'json') {
      return badRequest(new Invalid(`Invalid value at 'alt': generateContent answers JSON, got alt=${alt}.`, 'alt'));
    }

    try {
      validate(request.body);
    } catch (error) {
      if (error instanceof Invalid) return badRequest(error);
      throw error;
    }

    if (streaming) {
      const scripted = this.streamScript.shift();
      if (scripted) return scripted;
      const events = await this.streamEventsFor(request.body);
      return { status: 200, stream: { events: events.map(sseEvent), intervalMs: SSE_INTERVAL_MS } };
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: await this.responseFor(request.body),
    };
  }

  private async partsFor(plan: Plan, index: number): Promise<Part[]> {
    const parts: Part[] = [];
    if (plan.text) parts.push({ text: textFor(plan) });
    if (plan.image) parts.push(await this.imagePart(plan, index));
    return parts;
  }

  private async imagePart(plan: Plan, index: number): Promise<Part> {
    return { inlineData: { mimeType: 'image/png', data: await this.image(plan.aspectRatio, index % PALETTE.length) } };
  }

  /** A real PNG of the ratio's size; each candidate index gets its own colour. */
  private image(aspectRatio: GeminiAspectRatio, colour: number): Promise<string> {
    const key = `${aspectRatio}.${colour}`;
    let cached = this.imageCache.get(key);
    if (!cached) {
      const { width, height } = GEMINI_IMAGE_SIZES[aspectRatio];
      cached = sharp({ create: { width, height, channels: 3, background: PALETTE[colour]! } })
        .png()
        .toBuffer()
        .then((bytes) => bytes.toString('base64'));
      this.imageCache.set(key, cached);
    }
    return cached;
  }
}

/** An `inlineData` image of a recorded request, decoded. */
export interface InputImage {
  /** Where it was: `contents[contentIndex].parts[partIndex]`. */
  contentIndex: number;
  partIndex: number;
  role: string;
  mimeType: string;
  bytes: Buffer;
}

/**
 * The `inlineData` images a request sent (an edit's inputs), in order, decoded. Empty for a body
 * that is not a `contents` request; what the fake refused is returned as sent.
 */
export function inputImagesOf(request: RecordedRequest): InputImage[] {
  const contents = isObject(request.body) && Array.isArray(request.body.contents) ? request.body.contents : [];
  const images: InputImage[] = [];
  contents.forEach((content: unknown, contentIndex) => {
    if (!isObject(content) || !Array.isArray(content.parts)) return;
    content.parts.forEach((part: unknown, partIndex) => {
      if (!isObject(part) || !isObject(part.inlineData)) return;
      const { mimeType, data } = part.inlineData;
      images.push({
        contentIndex,
        partIndex,
        role: String(content.role),
        mimeType: String(mimeType),
        bytes: Buffer.from(typeof data === 'string' ? data : '', 'base64'),
      });
    });
  });
  return images;
}

/**
 * The kinds of the parts of a request's last `user` content, in order (gateways send an edit's
 * images before its prompt: `['image', 'image', 'text']`). The fake accepts any order.
 */
export function userPartKindsOf(request: RecordedRequest): Array<'text' | 'image' | 'other'> {
  const contents = isObject(request.body) && Array.isArray(request.body.contents) ? request.body.contents : [];
  const user = contents.filter((content: unknown) => isObject(content) && content.role === 'user').at(-1) as
    Json | undefined;
  const parts: unknown[] = Array.isArray(user?.parts) ? user.parts : [];
  return parts.map((part) => {
    if (!isObject(part)) return 'other';
    if (typeof part.text === 'string') return 'text';
    return isObject(part.inlineData) ? 'image' : 'other';
  });
}

interface Plan {
  candidateCount: number;
  aspectRatio: GeminiAspectRatio;
  text: boolean;
  image: boolean;
  promptTextChars: number;
  inputImages: number;
  lastUserText: string;
}

function planOf(body: Json): Plan {
  const config = (body.generationConfig ?? {}) as Json;
  const modalities = (config.responseModalities as string[] | undefined) ?? ['TEXT', 'IMAGE'];
  const imageConfig = (config.imageConfig ?? {}) as Json;
  const contents = body.contents as { role: string; parts: Json[] }[];
  const system = (body.systemInstruction as { parts: Json[] } | undefined)?.parts ?? [];
  let promptTextChars = 0;
  let inputImages = 0;
  let lastUserText = '';
  for (const part of system) promptTextChars += (part.text as string).length;
  for (const content of contents) {
    for (const part of content.parts) {
      if (typeof part.text === 'string') {
        promptTextChars += part.text.length;
        if (content.role === 'user') lastUserText = part.text;
      } else {
        inputImages++;
      }
    }
  }
  return {
    candidateCount: (config.candidateCount as number | undefined) ?? 1,
    aspectRatio: (imageConfig.aspectRatio as GeminiAspectRatio | undefined) ?? '1:1',
    text: modalities.includes('TEXT'),
    image: modalities.includes('IMAGE'),
    promptTextChars,
    inputImages,
    lastUserText,
  };
}

function textFor(plan: Plan): string {
  return `Here is your image: ${plan.lastUserText.slice(0, 30)}`;
}

function usageOf(plan: Plan): Json {
  const promptText = Math.ceil(plan.promptTextChars / 4);
  const promptImage = plan.inputImages * GEMINI_INPUT_IMAGE_TOKENS;
  const outputText = plan.text ? Math.ceil(textFor(plan).length / 4) * plan.candidateCount : 0;
  const outputImage = plan.image ? GEMINI_OUTPUT_IMAGE_TOKENS * plan.candidateCount : 0;
  const promptTokenCount = promptText + promptImage;
  const candidatesTokenCount = outputText + outputImage;
  return {
    promptTokenCount,
    candidatesTokenCount,
    totalTokenCount: promptTokenCount + candidatesTokenCount,
    trafficType: 'ON_DEMAND',
    promptTokensDetails: [
      { modality: 'TEXT', tokenCount: promptText },
      ...(plan.inputImages > 0 ? [{ modality: 'IMAGE', tokenCount: promptImage }] : []),
    ],
    candidatesTokensDetails: [
      ...(plan.text ? [{ modality: 'TEXT', tokenCount: outputText }] : []),
      ...(plan.image ? [{ modality: 'IMAGE', tokenCount: outputImage }] : []),
    ],
  };
}

function metadata(): Json {
  return {
    modelVersion: MODEL_VERSION,
    createTime: new Date().toISOString(),
    responseId: randomBytes(12).toString('base64url'),
  };
}

function sseEvent(event: unknown): string {
  return `data: ${JSON.stringify(event)}\r\n\r\n`;
}

function isStreamPath(path: string): boolean {
  return ROUTE.exec(path)?.[4] === 'streamGenerateContent';
}

function errorInfo(reason: string, method: string): Json {
  return {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason,
    domain: 'googleapis.com',
    metadata: { service: 'aiplatform.googleapis.com', method },
  };
}

function badRequest(problem: Invalid): ScriptedResponse {
  const violation =
    problem.field === undefined
      ? { description: problem.message }
      : { field: problem.field, description: problem.message };
  return googleError(400, 'INVALID_ARGUMENT', problem.message, [
    { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [violation] },
  ]);
}

// ---- request validation, with the proto field paths (snake_case) the real API reports ----

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function onlyKeys(value: Json, allowed: Iterable<string>, at: string | undefined): void {
  const known = new Set(allowed);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      const where = at === undefined ? '' : ` at '${at}'`;
      throw new Invalid(
        `Invalid JSON payload received. Unknown name "${key}"${where}: Cannot find field.`,
        at === undefined ? key : `${at}.${key}`,
      );
    }
  }
}

function expectObject(value: unknown, at: string, type: string): Json {
  if (!isObject(value))
    throw new Invalid(
      `Invalid value at '${at}' (type.googleapis.com/google.cloud.aiplatform.v1.${type}), ${show(value)}`,
      at,
    );
  return value;
}

function expectArray(value: unknown, at: string, type: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new Invalid(
      `Invalid JSON payload received. Expected an array for '${at}' (${type}), got ${show(value)}.`,
      at,
    );
  }
  return value;
}

function expectInteger(value: unknown, at: string, type = 'TYPE_INT32'): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new Invalid(`Invalid value at '${at}' (${type}), ${show(value)}`, at);
  return value;
}

function expectNumber(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new Invalid(`Invalid value at '${at}' (TYPE_FLOAT), ${show(value)}`, at);
  return value;
}

function expectEnum(value: unknown, at: string, type: string, allowed: Set<string>): void {
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw new Invalid(
      `Invalid value at '${at}' (type.googleapis.com/google.cloud.aiplatform.v1.${type}), ${show(value)}`,
      at,
    );
  }
}

function validate(body: unknown): void {
  if (typeof body === 'string')
    throw new Invalid(`Invalid JSON payload received. Unexpected token.\n${body.slice(0, 40)}\n^`);
  if (!isObject(body)) throw new Invalid(`Invalid JSON payload received. Expected an object, got ${show(body)}.`);
  onlyKeys(body, TOP_LEVEL, undefined);

  if (body.contents === undefined || (Array.isArray(body.contents) && body.contents.length === 0)) {
    throw new Invalid(
      'Unable to submit request because it has an empty contents field. contents is not specified.',
      'contents',
    );
  }
  let inputImages = 0;
  expectArray(body.contents, 'contents', 'Content').forEach((content, index) => {
    inputImages += validateContent(content, `contents[${index}]`);
  });
  if (inputImages > MAX_INPUT_IMAGES) {
    throw new Invalid(
      `Unable to submit request because it has too many images: ${inputImages} were given, but ${GEMINI_MODEL_VERSION} accepts at most ${MAX_INPUT_IMAGES} images per prompt.`,
      'contents',
    );
  }

  if (body.systemInstruction !== undefined) {
    const system = expectObject(body.systemInstruction, 'system_instruction', 'Content');
    onlyKeys(system, ['role', 'parts'], 'system_instruction');
    if (system.role !== undefined && typeof system.role !== 'string') {
      throw new Invalid(
        `Invalid value at 'system_instruction.role' (TYPE_STRING), ${show(system.role)}`,
        'system_instruction.role',
      );
    }
    const parts = expectArray(system.parts ?? [], 'system_instruction.parts', 'Part');
    if (parts.length === 0) {
      throw new Invalid(
        'Unable to submit request because system_instruction must include at least one parts field.',
        'system_instruction.parts',
      );
    }
    parts.forEach((part, index) => {
      const at = `system_instruction.parts[${index}]`;
      onlyKeys(expectObject(part, at, 'Part'), ['text'], at);
      validateText((part as Json).text, `${at}.text`);
    });
  }

  if (body.generationConfig !== undefined)
    validateGenerationConfig(expectObject(body.generationConfig, 'generation_config', 'GenerationConfig'));

  if (body.safetySettings !== undefined) {
    expectArray(body.safetySettings, 'safety_settings', 'SafetySetting').forEach((setting, index) => {
      const at = `safety_settings[${index}]`;
      const value = expectObject(setting, at, 'SafetySetting');
      onlyKeys(value, ['category', 'threshold', 'method'], at);
      expectEnum(value.category, `${at}.category`, 'HarmCategory', HARM_CATEGORIES);
      expectEnum(value.threshold, `${at}.threshold`, 'SafetySetting.HarmBlockThreshold', HARM_THRESHOLDS);
      if (value.method !== undefined)
        expectEnum(value.method, `${at}.method`, 'SafetySetting.HarmBlockMethod', HARM_METHODS);
    });
  }
}

/** Returns the number of inline images in the content. */
function validateContent(content: unknown, at: string): number {
  const value = expectObject(content, at, 'Content');
  onlyKeys(value, ['role', 'parts'], at);
  if (value.role !== 'user' && value.role !== 'model') {
    throw new Invalid(
      `Please use a valid role: user, model. Invalid value at '${at}.role': ${show(value.role)}`,
      `${at}.role`,
    );
  }
  const parts = expectArray(value.parts ?? [], `${at}.parts`, 'Part');
  if (parts.length === 0) {
    throw new Invalid(
      `Unable to submit request because it must include at least one parts field, which describes the prompt input. Missing at '${at}.parts'.`,
      `${at}.parts`,
    );
  }
  let images = 0;
  parts.forEach((part, index) => {
    const partAt = `${at}.parts[${index}]`;
    const fields = expectObject(part, partAt, 'Part');
    onlyKeys(fields, ['text', 'inlineData'], partAt);
    if (fields.text !== undefined && fields.inlineData !== undefined) {
      throw new Invalid(
        `Invalid JSON payload received. Oneof field 'data' is already set. Cannot set 'inline_data' at '${partAt}'.`,
        `${partAt}.inline_data`,
      );
    }
    if (fields.inlineData !== undefined) {
      validateInlineData(fields.inlineData, `${partAt}.inline_data`);
      images++;
    } else if (fields.text !== undefined) {
      validateText(fields.text, `${partAt}.text`);
    } else {
      throw new Invalid(
        `Unable to submit request because it has an empty part at '${partAt}': a part needs text or inline_data.`,
        partAt,
      );
    }
  });
  return images;
}

function validateText(text: unknown, at: string): void {
  if (typeof text !== 'string') throw new Invalid(`Invalid value at '${at}' (TYPE_STRING), ${show(text)}`, at);
  if (text.length === 0) {
    throw new Invalid(
      `Unable to submit request because it has an empty text parameter at '${at}'. Add a value to the parameter and try again.`,
      at,
    );
  }
}

function validateInlineData(inlineData: unknown, at: string): void {
  const value = expectObject(inlineData, at, 'Blob');
  onlyKeys(value, ['mimeType', 'data'], at);
  if (typeof value.mimeType !== 'string')
    throw new Invalid(`Invalid value at '${at}.mime_type' (TYPE_STRING), ${show(value.mimeType)}`, `${at}.mime_type`);
  if (!MIME_TYPES.has(value.mimeType)) {
    throw new Invalid(
      `Unsupported MIME type: ${value.mimeType} at '${at}.mime_type'. Supported: ${[...MIME_TYPES].join(', ')}.`,
      `${at}.mime_type`,
    );
  }
  if (typeof value.data !== 'string')
    throw new Invalid(`Invalid value at '${at}.data' (TYPE_BYTES), ${show(value.data)}`, `${at}.data`);
  if (value.data.length === 0)
    throw new Invalid(
      `Unable to submit request because it has an empty inline_data.data at '${at}.data'.`,
      `${at}.data`,
    );
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.data) || value.data.length % 4 === 1) {
    throw new Invalid(
      `Invalid value at '${at}.data' (TYPE_BYTES), Base64 decoding failed for ${show(value.data.slice(0, 40))}`,
      `${at}.data`,
    );
  }
  const bytes = Buffer.from(value.data, 'base64');
  if (bytes.length > MAX_INPUT_IMAGE_BYTES) {
    throw new Invalid(
      `Unable to submit request because the image at '${at}' is ${bytes.length} bytes; the limit is 7 MB.`,
      `${at}.data`,
    );
  }
  const actual = sniffImageType(bytes);
  if (!actual)
    throw new Invalid(`Provided image is not valid: '${at}.data' is not a PNG, JPEG or WebP image.`, `${at}.data`);
  if (actual !== value.mimeType) {
    throw new Invalid(
      `Provided image is not valid: '${at}.data' holds ${actual} bytes, but '${at}.mime_type' says ${value.mimeType}.`,
      `${at}.mime_type`,
    );
  }
}

function validateGenerationConfig(config: Json): void {
  onlyKeys(config, GENERATION_CONFIG, 'generation_config');
  const at = (key: string) => `generation_config.${snake(key)}`;

  if (config.responseModalities !== undefined) {
    const modalities = expectArray(config.responseModalities, at('responseModalities'), 'Modality');
    if (modalities.length === 0) {
      throw new Invalid(
        `Invalid value at '${at('responseModalities')}': responseModalities must list TEXT and/or IMAGE.`,
        at('responseModalities'),
      );
    }
    modalities.forEach((modality, index) =>
      expectEnum(
        modality,
        `${at('responseModalities')}[${index}]`,
        'GenerationConfig.Modality',
        new Set(['TEXT', 'IMAGE']),
      ),
    );
  }
  if (config.imageConfig !== undefined) {
    const imageConfig = expectObject(config.imageConfig, at('imageConfig'), 'ImageConfig');
    onlyKeys(imageConfig, ['aspectRatio'], at('imageConfig'));
    const ratio = imageConfig.aspectRatio;
    if (ratio !== undefined && (typeof ratio !== 'string' || !Object.hasOwn(GEMINI_IMAGE_SIZES, ratio))) {
      const field = `${at('imageConfig')}.aspect_ratio`;
      throw new Invalid(
        `Unable to submit request because aspect ratio ${show(ratio)} at '${field}' is not supported. Supported: ${Object.keys(GEMINI_IMAGE_SIZES).join(', ')}.`,
        field,
      );
    }
  }
  if (config.candidateCount !== undefined) {
    const count = expectInteger(config.candidateCount, at('candidateCount'));
    if (count < 1 || count > 8) {
      throw new Invalid(
        `Unable to submit request because candidateCount (${at('candidateCount')}) is ${count}; the supported range is 1 to 8.`,
        at('candidateCount'),
      );
    }
  }
  if (config.temperature !== undefined) {
    const temperature = expectNumber(config.temperature, at('temperature'));
    if (temperature < 0 || temperature > 2) {
      throw new Invalid(
        `Unable to submit request because it has a temperature value of ${temperature} but the supported range is from 0 (inclusive) to 2.0001 (exclusive). Update the value and try again.`,
        at('temperature'),
      );
    }
  }
  if (config.topP !== undefined) {
    const topP = expectNumber(config.topP, at('topP'));
    if (topP < 0 || topP > 1) {
      throw new Invalid(
        `Unable to submit request because it has a topP value of ${topP} but the supported range is from 0 (inclusive) to 1.0001 (exclusive). Update the value and try again.`,
        at('topP'),
      );
    }
  }
  if (config.maxOutputTokens !== undefined) {
    const max = expectInteger(config.maxOutputTokens, at('maxOutputTokens'));
    if (max < 1 || max > MAX_OUTPUT_TOKENS) {
      throw new Invalid(
        `Unable to submit request because it has a maxOutputTokens value of ${max} but the supported range is from 1 (inclusive) to ${MAX_OUTPUT_TOKENS + 1} (exclusive). Update the value and try again.`,
        at('maxOutputTokens'),
      );
    }
  }
  if (config.seed !== undefined) {
    const seed = expectInteger(config.seed, at('seed'));
    if (seed < -(2 ** 31) || seed >= 2 ** 31)
      throw new Invalid(`Invalid value at '${at('seed')}' (TYPE_INT32), ${seed}`, at('seed'));
  }
}
