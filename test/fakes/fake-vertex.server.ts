import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { FakeHttpServer, type RecordedRequest, type ScriptedResponse } from './fake-http.server.js';
import { sniffImageType } from './image-bytes.js';

interface Pixels {
  width: number;
  height: number;
}

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
} as const satisfies Record<string, Pixels>;

export type GeminiAspectRatio = keyof typeof GEMINI_IMAGE_SIZES;
/** Resolution tiers (`imageConfig.imageSize`). */
export type GeminiImageSize = '512' | '1K' | '2K' | '4K';

/** Output pixels of the Gemini 3 image models by ratio and tier (models-and-edits-2026.md §3.3, ⚠️). */
export const GEMINI_3_IMAGE_SIZES: Record<GeminiAspectRatio, Record<'1K' | '2K' | '4K', Pixels>> = {
  '1:1': { '1K': px(1024, 1024), '2K': px(2048, 2048), '4K': px(4096, 4096) },
  '2:3': { '1K': px(848, 1264), '2K': px(1696, 2528), '4K': px(3392, 5056) },
  '3:2': { '1K': px(1264, 848), '2K': px(2528, 1696), '4K': px(5056, 3392) },
  '3:4': { '1K': px(896, 1200), '2K': px(1792, 2400), '4K': px(3584, 4800) },
  '4:3': { '1K': px(1200, 896), '2K': px(2400, 1792), '4K': px(4800, 3584) },
  '4:5': { '1K': px(928, 1152), '2K': px(1856, 2304), '4K': px(3712, 4608) },
  '5:4': { '1K': px(1152, 928), '2K': px(2304, 1856), '4K': px(4608, 3712) },
  '9:16': { '1K': px(768, 1376), '2K': px(1536, 2752), '4K': px(3072, 5504) },
  '16:9': { '1K': px(1376, 768), '2K': px(2752, 1536), '4K': px(5504, 3072) },
  '21:9': { '1K': px(1584, 672), '2K': px(3168, 1344), '4K': px(6336, 2688) },
};

/** The four wide ratios of Nano Banana 2.1 at 1K (§3.3 ⚠️); 2K and 4K scaled (❓). */
const WIDE_RATIOS_1K: Record<string, Pixels> = {
  '1:4': px(512, 2064),
  '4:1': px(2064, 512),
  '1:8': px(352, 2928),
  '8:1': px(2928, 352),
};

/**
 * What this fake knows of each Gemini image model, as strict as Google is where sources say
 * (models-and-edits-2026.md §3; upstreams.md §3) and, where they do not (❓), as strict as
 * Easel's catalogue assumes.
 */
export interface GeminiModelProfile {
  aspectRatios: readonly string[];
  /** `imageConfig.imageSize` values it takes; none: the field is refused. */
  imageSizes: readonly GeminiImageSize[];
  /** The largest `candidateCount` (1 on every Gemini 3 image model). */
  maxCandidates: number;
  maxInputImages: number;
  maxOutputTokens: number;
  /** Tokens per output image, by tier (1K when no tier is asked). */
  outputImageTokens: Partial<Record<GeminiImageSize, number>>;
  /** Prompt tokens per input image. */
  inputImageTokens: number;
  /** Vertex locations serving it. */
  vertexLocations: readonly string[];
  /** Output pixels for a ratio and tier. */
  pixels(aspectRatio: string, imageSize: GeminiImageSize): Pixels;
}

const TEN_RATIOS = Object.keys(GEMINI_IMAGE_SIZES);
const US_REGIONS = ['us-central1', 'us-east1', 'us-east4', 'us-east5', 'us-south1', 'us-west1', 'us-west4'];
const gemini3Pixels = (aspectRatio: string, imageSize: GeminiImageSize): Pixels => {
  const tier = imageSize === '512' ? '1K' : imageSize;
  const wide = WIDE_RATIOS_1K[aspectRatio];
  if (wide) {
    const scale = { '1K': 1, '2K': 2, '4K': 4 }[tier];
    return px(wide.width * scale, wide.height * scale);
  }
  return GEMINI_3_IMAGE_SIZES[aspectRatio as GeminiAspectRatio][tier];
};

export const GEMINI_MODELS: Record<string, GeminiModelProfile> = {
  'gemini-2.5-flash-image': {
    aspectRatios: TEN_RATIOS,
    // 1K only; the fake refuses the tier field (❓ what Google does with it on 2.5).
    imageSizes: [],
    maxCandidates: 8,
    maxInputImages: 3,
    maxOutputTokens: 32768,
    outputImageTokens: { '1K': 1290 },
    inputImageTokens: 258,
    vertexLocations: ['global', ...US_REGIONS, 'europe-central2', 'europe-north1', 'europe-southwest1', 'europe-west1'],
    pixels: (aspectRatio) => GEMINI_IMAGE_SIZES[aspectRatio as GeminiAspectRatio],
  },
  'gemini-3-pro-image': {
    aspectRatios: TEN_RATIOS,
    imageSizes: ['1K', '2K', '4K'],
    maxCandidates: 1,
    maxInputImages: 14,
    maxOutputTokens: 32768,
    outputImageTokens: { '1K': 1120, '2K': 1120, '4K': 2000 },
    inputImageTokens: 560,
    // "global and US regions" (§3.1): which US regions is ❓, 2.5's are assumed.
    vertexLocations: ['global', ...US_REGIONS],
    pixels: gemini3Pixels,
  },
  'gemini-3.1-flash-lite-image': {
    // ❓ sources give 10 or 14 ratios: the 10 both lists share.
    aspectRatios: TEN_RATIOS,
    imageSizes: ['1K'],
    maxCandidates: 1,
    // ❓ as the catalogue assumes.
    maxInputImages: 3,
    maxOutputTokens: 4096,
    outputImageTokens: { '1K': 1120 },
    inputImageTokens: 1120,
    vertexLocations: ['global'],
    pixels: gemini3Pixels,
  },
  'gemini-nano-banana-2.1': {
    aspectRatios: [...TEN_RATIOS, ...Object.keys(WIDE_RATIOS_1K)],
    // The 512 tier is reported as rejected (§3.2 ⚠️).
    imageSizes: ['1K', '2K', '4K'],
    maxCandidates: 1,
    // ❓ as the catalogue assumes.
    maxInputImages: 3,
    maxOutputTokens: 32768,
    // ⚠️ 1K and 4K derived from its prices (§3.4); ❓ 2K as the catalogue assumes.
    outputImageTokens: { '1K': 1120, '2K': 2520, '4K': 3780 },
    inputImageTokens: 1120,
    // ⚠️ no Vertex model card: assumed on global only.
    vertexLocations: ['global'],
    pixels: gemini3Pixels,
  },
};

/** Tokens billed for one output image of gemini-2.5-flash-image, whatever the ratio (§3.5). */
export const GEMINI_OUTPUT_IMAGE_TOKENS = 1290;
/** Prompt tokens this fake counts for one input image of gemini-2.5-flash-image. */
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
  /** The project's region; `global` is served too, each model where its profile says. */
  location: string;
  /** Models of `GEMINI_MODELS` the project may call. */
  models: string[];
}

export interface FakeGeminiApiOptions {
  apiKey: string;
  /** Models of `GEMINI_MODELS` the key may call. */
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

/** A model call the route and the credentials let through. */
interface Admitted {
  model: string;
  streaming: boolean;
}

/** How much inline image data a request may carry. */
interface InlineLimits {
  /** Per image (Vertex: 7 MB, the model cards' inline limit). */
  imageBytes?: number;
  /** All images of a request together (the Gemini API: 100 MB since 2026-01-08, §3.1). */
  requestBytes?: number;
}

const VERTEX_ROUTE =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const GEMINI_API_ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
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
const IMAGE_CONFIG = new Set(['aspectRatio', 'imageSize']);
const MIME_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
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
 * Gemini's `generateContent` / `streamGenerateContent?alt=sse`, as strict as the real API: after
 * the subclass has checked the route and the credentials, rejects unknown fields and invalid
 * values with Google's error shape, each model as its profile says (`GEMINI_MODELS`: aspect
 * ratios, size tiers, candidates, input images), and answers real PNGs of the size the ratio and
 * tier name, with `usageMetadata` (image tokens by tier). Input images (`inlineData`, how gateways
 * send an edit) must be PNG, JPEG or WebP bytes under their true `mimeType`, and are billed as
 * prompt IMAGE tokens at the model's rate.
 */
abstract class FakeGenerateContentServer extends FakeHttpServer {
  private readonly imageCache = new Map<string, Promise<string>>();
  private readonly streamScript: ScriptedResponse[] = [];
  private readonly failures = new Map<number, ScriptedResponse>();

  protected constructor(models: readonly string[]) {
    super();
    const unknown = models.filter((model) => !Object.hasOwn(GEMINI_MODELS, model));
    if (unknown.length > 0) throw new Error(`no GEMINI_MODELS profile for ${unknown.join(', ')}`);
  }

  /** Requests to either model route (`:generateContent` or `:streamGenerateContent`), valid or not. */
  get generationRequests(): RecordedRequest[] {
    return this.requests.filter((request) => this.methodOf(request.path) !== undefined);
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

  /**
   * The `call`-th model request since the last reset (1 = the first to arrive, counting all of
   * `generationRequests`) gets `response` once it has passed the route, auth and body checks,
   * instead of its answer: one call of a fan-out fails while the others are answered. A 200 body
   * reaches a streaming call as one SSE event.
   */
  failCall(call: number, response: ScriptedResponse): void {
    this.failures.set(call, response);
  }

  override reset(): void {
    super.reset();
    this.streamScript.length = 0;
    this.failures.clear();
  }

  /** The unary body this fake answers for a (valid) request body to `model` (default gemini-2.5-flash-image). */
  async responseFor(body: unknown, model = GEMINI_MODEL_VERSION): Promise<Json> {
    const plan = planOf(body as Json, model);
    const candidates = await Promise.all(
      Array.from({ length: plan.candidateCount }, async (_, index) => ({
        content: { role: 'model', parts: await this.partsFor(plan, index) },
        finishReason: 'STOP',
        index,
        ...this.candidateExtras(),
      })),
    );
    return { candidates, usageMetadata: this.usageOf(plan), ...this.metadata(model) };
  }

  /** The SSE events (as objects) this fake streams for a (valid) request body to `model`. */
  async streamEventsFor(body: unknown, model = GEMINI_MODEL_VERSION): Promise<Json[]> {
    const plan = planOf(body as Json, model);
    const meta = this.metadata(model);
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
        candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index, ...this.candidateExtras() }],
        ...meta,
      });
    }
    events[events.length - 1]!.usageMetadata = this.usageOf(plan);
    return events;
  }

  /** The method of a model route (`generateContent`, `streamGenerateContent`), if `path` is one. */
  protected abstract methodOf(path: string): string | undefined;

  /** Checks the route and the credentials: the model called, or the error Google answers. */
  protected abstract admit(request: RecordedRequest): Admitted | ScriptedResponse | undefined;

  /** Per-image and per-request limits on inline data. */
  protected abstract readonly inlineLimits: InlineLimits;

  /** Response fields besides candidates and usage. */
  protected abstract metadata(model: string): Json;

  /** Fields of each candidate besides content, finish reason and index. */
  protected abstract candidateExtras(): Json;

  /** Fields of `usageMetadata` besides the token counts. */
  protected abstract usageExtras(): Json;

  protected override adaptScripted(request: RecordedRequest, scripted: ScriptedResponse): ScriptedResponse {
    // A 200 body enqueued for a streaming call arrives the way Gemini streams it: as one SSE event.
    if (
      this.methodOf(request.path) === 'streamGenerateContent' &&
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
    if (request.method !== 'POST' || this.methodOf(request.path) === undefined) return undefined;
    const ordinal = this.generationRequests.length;
    const admitted = this.admit(request);
    if (admitted === undefined || !('model' in admitted)) return admitted;
    const { model, streaming } = admitted;

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
          `streamGenerateContent needs alt=sse (got ${alt === null ? 'no alt' : `alt=${alt}`}): without it Gemini answers one JSON array, not an event stream.`,
          'alt',
        ),
      );
    }
    if (!streaming && alt !== null && alt !== 'json') {
      return badRequest(new Invalid(`Invalid value at 'alt': generateContent answers JSON, got alt=${alt}.`, 'alt'));
    }

    try {
      validate(request.body, model, this.inlineLimits);
    } catch (error) {
      if (error instanceof Invalid) return badRequest(error);
      throw error;
    }

    const failure = this.failures.get(ordinal);
    if (failure) return this.adaptScripted(request, failure);
    if (streaming) {
      const scripted = this.streamScript.shift();
      if (scripted) return scripted;
      const events = await this.streamEventsFor(request.body, model);
      return { status: 200, stream: { events: events.map(sseEvent), intervalMs: SSE_INTERVAL_MS } };
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: await this.responseFor(request.body, model),
    };
  }

  private usageOf(plan: Plan): Json {
    const profile = GEMINI_MODELS[plan.model]!;
    const promptText = Math.ceil(plan.promptTextChars / 4);
    const promptImage = plan.inputImages * profile.inputImageTokens;
    const outputText = plan.text ? Math.ceil(textFor(plan).length / 4) * plan.candidateCount : 0;
    const perImage = profile.outputImageTokens[plan.imageSize]!;
    const outputImage = plan.image ? perImage * plan.candidateCount : 0;
    const promptTokenCount = promptText + promptImage;
    const candidatesTokenCount = outputText + outputImage;
    return {
      promptTokenCount,
      candidatesTokenCount,
      totalTokenCount: promptTokenCount + candidatesTokenCount,
      ...this.usageExtras(),
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

  private async partsFor(plan: Plan, index: number): Promise<Part[]> {
    const parts: Part[] = [];
    if (plan.text) parts.push({ text: textFor(plan) });
    if (plan.image) parts.push(await this.imagePart(plan, index));
    return parts;
  }

  private async imagePart(plan: Plan, index: number): Promise<Part> {
    const pixels = GEMINI_MODELS[plan.model]!.pixels(plan.aspectRatio, plan.imageSize);
    return { inlineData: { mimeType: 'image/png', data: await this.image(pixels, index % PALETTE.length) } };
  }

  /** A real PNG of that size; each candidate index gets its own colour. */
  private image({ width, height }: Pixels, colour: number): Promise<string> {
    const key = `${width}x${height}.${colour}`;
    let cached = this.imageCache.get(key);
    if (!cached) {
      cached = sharp({ create: { width, height, channels: 3, background: PALETTE[colour]! } })
        .png()
        .toBuffer()
        .then((bytes) => bytes.toString('base64'));
      this.imageCache.set(key, cached);
    }
    return cached;
  }
}

/**
 * Vertex AI (`/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:…`, upstreams.md §3):
 * a bearer token, the project, its region or `global` (each model where its profile says).
 */
export class FakeVertexServer extends FakeGenerateContentServer {
  protected readonly inlineLimits: InlineLimits = { imageBytes: 7 * 1024 * 1024 };

  constructor(private readonly options: FakeVertexOptions) {
    super(options.models);
  }

  protected methodOf(path: string): string | undefined {
    return VERTEX_ROUTE.exec(path)?.[4];
  }

  protected admit(request: RecordedRequest): Admitted | ScriptedResponse | undefined {
    const [, project, location, model, method] = VERTEX_ROUTE.exec(request.path)!.map((part) =>
      decodeURIComponent(part ?? ''),
    ) as [string, string, string, string, string];
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
    if (location !== this.options.location && location !== 'global') {
      return googleError(
        404,
        'NOT_FOUND',
        `Location \`${location}\` is not found or not supported for project \`${project}\`.`,
      );
    }
    if (!this.options.models.includes(model) || !GEMINI_MODELS[model]!.vertexLocations.includes(location)) {
      return googleError(
        404,
        'NOT_FOUND',
        `Publisher Model \`${resource}\` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`,
      );
    }
    return { model, streaming: method === 'streamGenerateContent' };
  }

  protected metadata(model: string): Json {
    return { modelVersion: model, createTime: new Date().toISOString(), responseId: responseId() };
  }

  protected candidateExtras(): Json {
    return { safetyRatings: [] };
  }

  protected usageExtras(): Json {
    return { trafficType: 'ON_DEMAND' };
  }
}

/**
 * The Gemini API (`/v1beta/models/{m}:…` on generativelanguage.googleapis.com, §3.1): the key in
 * `x-goog-api-key`, answered as Google does: none is 403, a wrong one is 400 `API_KEY_INVALID`,
 * an OAuth bearer instead is 401. A key in the URL (`?key=`, which Google also takes) is refused:
 * there it would reach access logs.
 */
export class FakeGeminiApiServer extends FakeGenerateContentServer {
  protected readonly inlineLimits: InlineLimits = { requestBytes: 100 * 1024 * 1024 };

  constructor(private readonly options: FakeGeminiApiOptions) {
    super(options.models);
  }

  protected methodOf(path: string): string | undefined {
    return GEMINI_API_ROUTE.exec(path)?.[2];
  }

  protected admit(request: RecordedRequest): Admitted | ScriptedResponse | undefined {
    const [, model, method] = GEMINI_API_ROUTE.exec(request.path)!.map((part) => decodeURIComponent(part ?? '')) as [
      string,
      string,
      string,
    ];
    const key = request.headers['x-goog-api-key'];
    if (request.headers.authorization !== undefined) {
      return googleError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        [
          errorInfo(
            'ACCESS_TOKEN_TYPE_UNSUPPORTED',
            `google.ai.generativelanguage.v1beta.GenerativeService.${method === 'generateContent' ? 'GenerateContent' : 'StreamGenerateContent'}`,
            'generativelanguage.googleapis.com',
          ),
        ],
      );
    }
    if (key === undefined) {
      return googleError(
        403,
        'PERMISSION_DENIED',
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    }
    if (key !== this.options.apiKey) {
      return googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
      ]);
    }
    if (!this.options.models.includes(model)) {
      return googleError(
        404,
        'NOT_FOUND',
        `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
      );
    }
    return { model, streaming: method === 'streamGenerateContent' };
  }

  protected metadata(model: string): Json {
    return { modelVersion: model, responseId: responseId() };
  }

  protected candidateExtras(): Json {
    return {};
  }

  protected usageExtras(): Json {
    return {};
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
  model: string;
  candidateCount: number;
  aspectRatio: string;
  imageSize: GeminiImageSize;
  text: boolean;
  image: boolean;
  promptTextChars: number;
  inputImages: number;
  lastUserText: string;
}

function planOf(body: Json, model: string): Plan {
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
    model,
    candidateCount: (config.candidateCount as number | undefined) ?? 1,
    aspectRatio: (imageConfig.aspectRatio as string | undefined) ?? '1:1',
    imageSize: (imageConfig.imageSize as GeminiImageSize | undefined) ?? '1K',
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

function px(width: number, height: number): Pixels {
  return { width, height };
}

function responseId(): string {
  return randomBytes(12).toString('base64url');
}

function sseEvent(event: unknown): string {
  return `data: ${JSON.stringify(event)}\r\n\r\n`;
}

function errorInfo(reason: string, method: string, service = 'aiplatform.googleapis.com'): Json {
  return {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason,
    domain: 'googleapis.com',
    metadata: { service, method },
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

function validate(body: unknown, model: string, limits: InlineLimits): void {
  const profile = GEMINI_MODELS[model]!;
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
  const images = expectArray(body.contents, 'contents', 'Content').flatMap((content, index) =>
    validateContent(content, `contents[${index}]`, limits),
  );
  if (images.length > profile.maxInputImages) {
    throw new Invalid(
      `Unable to submit request because it has too many images: ${images.length} were given, but ${model} accepts at most ${profile.maxInputImages} images per prompt.`,
      'contents',
    );
  }
  const inlineBytes = images.reduce((sum, bytes) => sum + bytes, 0);
  if (limits.requestBytes !== undefined && inlineBytes > limits.requestBytes) {
    throw new Invalid(
      `Unable to submit request because its inline data is ${inlineBytes} bytes; the limit is ${limits.requestBytes / 1024 / 1024} MB.`,
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
    validateGenerationConfig(expectObject(body.generationConfig, 'generation_config', 'GenerationConfig'), model);

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

/** Returns the size in bytes of each inline image of the content. */
function validateContent(content: unknown, at: string, limits: InlineLimits): number[] {
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
  const images: number[] = [];
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
      images.push(validateInlineData(fields.inlineData, `${partAt}.inline_data`, limits));
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

/** Returns the image's size in bytes. */
function validateInlineData(inlineData: unknown, at: string, limits: InlineLimits): number {
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
  if (limits.imageBytes !== undefined && bytes.length > limits.imageBytes) {
    throw new Invalid(
      `Unable to submit request because the image at '${at}' is ${bytes.length} bytes; the limit is ${limits.imageBytes / 1024 / 1024} MB.`,
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
  return bytes.length;
}

function validateGenerationConfig(config: Json, model: string): void {
  const profile = GEMINI_MODELS[model]!;
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
    onlyKeys(imageConfig, IMAGE_CONFIG, at('imageConfig'));
    const ratio = imageConfig.aspectRatio;
    if (ratio !== undefined && (typeof ratio !== 'string' || !profile.aspectRatios.includes(ratio))) {
      const field = `${at('imageConfig')}.aspect_ratio`;
      throw new Invalid(
        `Unable to submit request because aspect ratio ${show(ratio)} at '${field}' is not supported by ${model}. Supported: ${profile.aspectRatios.join(', ')}.`,
        field,
      );
    }
    // Exactly as Google spells the tiers (`1K`, not `1k`), and only those the model makes.
    const size = imageConfig.imageSize;
    if (size !== undefined && (typeof size !== 'string' || !profile.imageSizes.includes(size as GeminiImageSize))) {
      const field = `${at('imageConfig')}.image_size`;
      const supported = profile.imageSizes.length > 0 ? profile.imageSizes.join(', ') : 'none';
      throw new Invalid(
        `Unable to submit request because image size ${show(size)} at '${field}' is not supported by ${model}. Supported: ${supported}.`,
        field,
      );
    }
  }
  if (config.candidateCount !== undefined) {
    const count = expectInteger(config.candidateCount, at('candidateCount'));
    // ✅ candidateCount is 1 on the Gemini 3 image models (§3.1); 1 to 8 on 2.5 (upstreams.md §3.1).
    if (count < 1 || count > profile.maxCandidates) {
      throw new Invalid(
        profile.maxCandidates === 1
          ? `Unable to submit request because candidateCount (${at('candidateCount')}) is ${count}; ${model} generates one candidate per request.`
          : `Unable to submit request because candidateCount (${at('candidateCount')}) is ${count}; the supported range is 1 to ${profile.maxCandidates}.`,
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
    if (max < 1 || max > profile.maxOutputTokens) {
      throw new Invalid(
        `Unable to submit request because it has a maxOutputTokens value of ${max} but the supported range is from 1 (inclusive) to ${profile.maxOutputTokens + 1} (exclusive). Update the value and try again.`,
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
