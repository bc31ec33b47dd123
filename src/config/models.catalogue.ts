import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseUsd } from '../common/money/usd.js';
import type { PriceSheet } from '../usage/pricing/price-sheet.js';

export const PROVIDER_KINDS = ['azure-openai', 'openai', 'vertex', 'gemini', 'local'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
export type EndpointKind = 'images' | 'chat';
/** Rendering qualities a model may list (`xhigh` and `max`: gpt-image-2.5 and later). */
export const IMAGE_QUALITIES = ['auto', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
/** Output resolution tiers (Gemini's `imageConfig.imageSize`), smallest first. */
export const IMAGE_SIZE_TIERS = ['512', '1K', '2K', '4K'] as const;
export type ImageSizeTier = (typeof IMAGE_SIZE_TIERS)[number];

const SIZE = /^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})$/;
const usdPerMillion = z
  .union([z.string(), z.number()])
  .transform((value) => String(value))
  .refine((value) => /^\d{1,9}(\.\d{1,6})?$/.test(value), 'must be a USD amount with at most 6 decimals');

const routeSchema = z
  .object({
    name: z.string().min(1),
    weight: z.number().int().min(1).max(1000).default(1),
    /** A backup: tried only when the other routes fail, never drawn first. */
    fallback: z.boolean().default(false),
    /** Azure: the deployment name; Vertex: the upstream model name. Defaults to the model's last segment. */
    deployment: z.string().min(1).optional(),
    upstream_model: z.string().min(1).optional(),
    endpoint_env: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .optional(),
    api_key_env: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .optional(),
    api_version: z.string().min(1).optional(),
    /** Vertex: this route's location instead of VERTEX_LOCATION (the Gemini 3 image models answer on `global`). */
    location: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .optional(),
  })
  .strict();

const tokenCount = z.number().int().min(0).max(1_000_000);

/**
 * Free `WxH` sizes (gpt-image-2 and later): both edges multiples of `multiple_of`, the pixel
 * count within [min_pixels, max_pixels], no edge above `max_edge`, the long edge at most
 * `max_aspect_ratio` times the short one.
 */
const customSizesSchema = z
  .object({
    multiple_of: z.number().int().min(1).max(1024),
    min_pixels: z.number().int().min(1),
    max_pixels: z.number().int().min(1).max(64_000_000),
    max_edge: z.number().int().min(1).max(16_384),
    max_aspect_ratio: z.number().min(1).max(100),
  })
  .strict()
  .refine((rules) => rules.min_pixels <= rules.max_pixels, 'min_pixels must not exceed max_pixels');

/** A calendar date, `YYYY-MM-DD` (quoted or not: YAML may read it as a date). */
const isoDate = z
  .union([z.string(), z.date()])
  .transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : value))
  .refine(
    (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value),
    'must be a date, YYYY-MM-DD',
  );

/** When the upstream retires a model, and what teams calling it get then (SPEC §6.5). */
const lifecycleSchema = z
  .object({
    deprecated_on: isoDate.optional(),
    shutdown_on: isoDate.optional(),
    /** A catalogue model serving at least the same endpoints (checked after all models are read). */
    successor: z.string().min(1).optional(),
    /** From `shutdown_on`: refuse with 410 `model_retired`, or serve the request with the successor. */
    after_shutdown: z.enum(['reject', 'successor']).default('reject'),
  })
  .strict();

/**
 * Output image tokens per image for cost estimates: one number, by quality then size, or (for a
 * model with image size tiers) by tier.
 */
const estimateSchema = z
  .object({
    output_image_tokens: z.union([
      tokenCount,
      z.partialRecord(z.enum(IMAGE_SIZE_TIERS), tokenCount),
      z.record(z.string(), z.record(z.string(), tokenCount)),
    ]),
    /** Input image tokens per image of an edit (the dearest case), for the same estimate. */
    input_image_tokens: tokenCount.optional(),
  })
  .strict();

const modelSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)+$/, 'must look like provider/vendor/model'),
    description: z.string().default(''),
    provider: z.enum(PROVIDER_KINDS),
    endpoints: z.array(z.enum(['images', 'chat'])).min(1),
    routes: z.array(routeSchema).min(1),
    capabilities: z
      .object({
        sizes: z.array(z.string().regex(SIZE)).min(1),
        /** Listed sizes; with `custom_sizes`, any other `WxH` within its rules too. */
        custom_sizes: customSizesSchema.optional(),
        qualities: z.array(z.enum(IMAGE_QUALITIES)).min(1),
        backgrounds: z.array(z.enum(['auto', 'transparent', 'opaque'])).min(1),
        output_formats: z.array(z.enum(['png', 'jpeg', 'webp'])).min(1),
        output_compression: z.boolean().default(false),
        moderation: z.boolean().default(false),
        streaming: z.boolean().default(false),
        max_n: z.number().int().min(1).max(10),
        /** Output resolution tiers a request may ask for (`image_size`); unset: the upstream's default (1K). */
        image_sizes: z.array(z.enum(IMAGE_SIZE_TIERS)).default([]),
        max_prompt_chars: z.number().int().min(1).max(32000),
        /** The most output tokens a chat request may ask for (`max_tokens`); unset: the API's 32,768. */
        max_output_tokens: z.number().int().min(1).max(32768).optional(),
        /** Input images a request may send: a chat request's data URLs, an edit's images. */
        max_input_images: z.number().int().min(0).max(16).default(3),
        /** The largest input image the upstream takes (Vertex: 7 MB inline); unset = UPLOAD_MAX_FILE_BYTES. */
        max_input_image_bytes: z
          .number()
          .int()
          .min(1024)
          .max(512 * 1024 * 1024)
          .optional(),
        /** Serves POST /v1/images/edits (the provider must edit; checked at boot). */
        edits: z.boolean().default(false),
        /** Edits take a `mask`. */
        mask: z.boolean().default(false),
        /** Edits take `input_fidelity` (high | low). */
        input_fidelity: z.boolean().default(false),
      })
      .strict(),
    pricing: z
      .object({
        per_million_tokens: z
          .object({
            input_text: usdPerMillion.optional(),
            input_text_cached: usdPerMillion.optional(),
            input_image: usdPerMillion.optional(),
            input_image_cached: usdPerMillion.optional(),
            output_text: usdPerMillion.optional(),
            output_image: usdPerMillion.optional(),
          })
          .strict()
          .optional(),
        per_image: usdPerMillion.optional(),
      })
      .strict()
      .refine((p) => p.per_million_tokens !== undefined || p.per_image !== undefined, 'a model needs a price'),
    estimate: estimateSchema.optional(),
    /**
     * Images one upstream call may return (Gemini's `candidateCount`; 1 on the Gemini 3 image
     * models); `n` beyond it becomes parallel calls, each billed, each sending the input images.
     * Unset: the adapter's own limit (all of `n` in one call for OpenAI's protocol).
     */
    candidates_per_call: z.number().int().min(1).max(10).optional(),
    lifecycle: lifecycleSchema.optional(),
  })
  .strict();

const catalogueSchema = z.object({ models: z.array(modelSchema).min(1) }).strict();

export type RouteDefinition = z.output<typeof routeSchema>;
export type ModelCapabilities = z.output<typeof modelSchema>['capabilities'];
export type CostEstimateTable = z.output<typeof estimateSchema>;
export type CustomSizeRules = z.output<typeof customSizesSchema>;

/** A model's lifecycle as the catalogue gives it: dates as `YYYY-MM-DD` (UTC days). */
export interface ModelLifecycle {
  deprecatedOn?: string;
  shutdownOn?: string;
  successor?: string;
  afterShutdown: 'reject' | 'successor';
}

export interface ModelDefinition {
  id: string;
  description: string;
  provider: ProviderKind;
  endpoints: readonly EndpointKind[];
  routes: readonly RouteDefinition[];
  capabilities: ModelCapabilities;
  prices: PriceSheet;
  /** Token counts for estimating a request's cost before it is sent (budgets). */
  estimate?: CostEstimateTable;
  /** Images one upstream call returns at most (see the catalogue's `candidates_per_call`). */
  candidatesPerCall?: number;
  lifecycle?: ModelLifecycle;
}

export class InvalidCatalogueError extends Error {
  constructor(file: string, problems: string[]) {
    super(`Invalid model catalogue ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidCatalogueError';
  }
}

/** Reads and validates the YAML catalogue; throws naming every problem (duplicates included). */
export function loadModelCatalogue(file: string): ModelDefinition[] {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidCatalogueError(file, [error instanceof Error ? error.message : String(error)]);
  }
  return parseModelCatalogue(raw, file);
}

export function parseModelCatalogue(raw: unknown, file = 'catalogue'): ModelDefinition[] {
  const result = catalogueSchema.safeParse(raw);
  if (!result.success) {
    throw new InvalidCatalogueError(
      file,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const model of result.data.models) {
    if (seen.has(model.id)) problems.push(`duplicate model id '${model.id}'`);
    seen.add(model.id);
    const routeNames = new Set(model.routes.map((route) => route.name));
    if (routeNames.size !== model.routes.length) problems.push(`${model.id}: route names must be unique`);
    if (model.capabilities.sizes.some((size) => size !== 'auto' && !fitsPixels(size))) {
      problems.push(`${model.id}: sizes must be at most 4096 pixels per side`);
    }
    const byTier = tierTable(model.estimate?.output_image_tokens);
    const untabled = model.capabilities.image_sizes.filter((tier) => byTier && byTier[tier] === undefined);
    if (untabled.length > 0) {
      problems.push(`${model.id}: estimate.output_image_tokens has no count for image size ${untabled.join(', ')}`);
    }
    const { edits, mask, input_fidelity, max_input_images } = model.capabilities;
    if ((mask || input_fidelity) && !edits) problems.push(`${model.id}: mask and input_fidelity need edits: true`);
    if (edits && max_input_images < 1) problems.push(`${model.id}: a model that edits needs max_input_images >= 1`);
    const priced = (price: string | undefined) => price !== undefined && parseUsd(price) !== 0n;
    if (
      edits &&
      priced(model.pricing.per_million_tokens?.input_image) &&
      model.estimate?.input_image_tokens === undefined
    ) {
      problems.push(`${model.id}: a model that edits and prices input images needs estimate.input_image_tokens`);
    }
    if (priced(model.pricing.per_million_tokens?.output_image) && !model.estimate) {
      problems.push(`${model.id}: a model priced by image output tokens needs estimate.output_image_tokens`);
    }
  }
  problems.push(...lifecycleProblems(result.data.models));
  if (problems.length > 0) throw new InvalidCatalogueError(file, problems);
  return result.data.models.map((model) => ({
    id: model.id,
    description: model.description,
    provider: model.provider,
    endpoints: model.endpoints,
    routes: model.routes,
    capabilities: model.capabilities,
    prices: toPriceSheet(model.pricing),
    estimate: model.estimate,
    candidatesPerCall: model.candidates_per_call,
    lifecycle: model.lifecycle && {
      deprecatedOn: model.lifecycle.deprecated_on,
      shutdownOn: model.lifecycle.shutdown_on,
      successor: model.lifecycle.successor,
      afterShutdown: model.lifecycle.after_shutdown,
    },
  }));
}

/**
 * A successor is a catalogue model other than the model itself that serves every endpoint it
 * serves (and edits where it edits), and following successors never comes back to a model; a
 * model served by its successor after shutdown names one; deprecation comes no later than shutdown.
 */
function lifecycleProblems(models: ReadonlyArray<z.output<typeof modelSchema>>): string[] {
  const byId = new Map(models.map((model) => [model.id, model]));
  const problems: string[] = [];
  for (const model of models) {
    const lifecycle = model.lifecycle;
    if (!lifecycle) continue;
    const { deprecated_on, shutdown_on, successor, after_shutdown } = lifecycle;
    if (deprecated_on && shutdown_on && deprecated_on > shutdown_on) {
      problems.push(`${model.id}: lifecycle.deprecated_on (${deprecated_on}) is after shutdown_on (${shutdown_on})`);
    }
    if (after_shutdown === 'successor' && !successor) {
      problems.push(`${model.id}: lifecycle.after_shutdown 'successor' needs lifecycle.successor`);
    }
    if (successor === undefined) continue;
    const next = byId.get(successor);
    if (!next) {
      problems.push(`${model.id}: lifecycle.successor '${successor}' is not a model of this catalogue`);
      continue;
    }
    const missing: string[] = model.endpoints.filter((endpoint) => !next.endpoints.includes(endpoint));
    if (model.capabilities.edits && !next.capabilities.edits) missing.push('edits');
    if (missing.length > 0) {
      problems.push(
        `${model.id}: lifecycle.successor '${successor}' does not serve ${missing.join(', ')}, which ${model.id} serves`,
      );
    }
    const seen = new Set([model.id]);
    for (let id: string | undefined = successor; id !== undefined; id = byId.get(id)?.lifecycle?.successor) {
      if (seen.has(id)) {
        problems.push(`${model.id}: lifecycle.successor leads back to '${id}' (a cycle)`);
        break;
      }
      seen.add(id);
    }
  }
  return problems;
}

/** The estimate's table by image size tier, when it is one (its keys are all tiers). */
export function tierTable(
  table: CostEstimateTable['output_image_tokens'] | undefined,
): Partial<Record<ImageSizeTier, number>> | undefined {
  if (table === undefined || typeof table === 'number') return undefined;
  const entries = Object.entries(table);
  if (entries.length === 0 || !entries.every(([key, value]) => isTier(key) && typeof value === 'number')) {
    return undefined;
  }
  return table as Partial<Record<ImageSizeTier, number>>;
}

function isTier(value: string): value is ImageSizeTier {
  return (IMAGE_SIZE_TIERS as readonly string[]).includes(value);
}

function fitsPixels(size: string): boolean {
  return size.split('x').every((side) => Number(side) <= 4096);
}

function toPriceSheet(pricing: z.output<typeof modelSchema>['pricing']): PriceSheet {
  const tokens = pricing.per_million_tokens ?? {};
  const usd = (value: string | undefined) => parseUsd(value ?? '0');
  return {
    inputText: usd(tokens.input_text),
    inputTextCached: usd(tokens.input_text_cached ?? tokens.input_text),
    inputImage: usd(tokens.input_image),
    inputImageCached: usd(tokens.input_image_cached ?? tokens.input_image),
    outputText: usd(tokens.output_text),
    outputImage: usd(tokens.output_image),
    perImage: usd(pricing.per_image),
  };
}
