import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { type Cidr, parseCidrList } from '../common/net/address.policy.js';

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/**
 * A whole number in [min, max], written in decimal digits ("0x10" or "1e3" are not ports). Both
 * messages name the range, so the fix is in the message.
 */
const integer = (min: number, max: number, unit?: string) =>
  z
    .string()
    .trim()
    .transform((value, context) => {
      const range = `between ${min} and ${max}${unit ? ` ${unit}` : ''}`;
      if (!/^-?\d+$/.test(value)) {
        context.addIssue({ code: 'custom', message: `must be a whole number ${range}` });
        return z.NEVER;
      }
      const number = Number(value);
      if (number < min || number > max) {
        context.addIssue({ code: 'custom', message: `must be ${range}` });
        return z.NEVER;
      }
      return number;
    });

const httpUrl = z
  .string()
  .trim()
  .refine((value) => /^https?:\/\/[^\s/]+/i.test(value) && URL.canParse(value), 'must be an http(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

/** Comma-separated CIDRs, each checked; an issue names the first bad one. */
const cidrList = z.string().transform((value, context): Cidr[] => {
  try {
    return parseCidrList(value);
  } catch (error) {
    context.addIssue({
      code: 'custom',
      message: `${(error as Error).message} (a comma-separated list of CIDRs such as 10.20.0.0/16,fd00::/8)`,
    });
    return z.NEVER;
  }
});

/**
 * Every environment variable Easel reads (SPEC §2). Names are the contract; an invalid value stops
 * the start with a message that names the variable.
 */
export const envSchema = z.object({
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PUBLIC_BASE_URL: httpUrl.optional(),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((value) => value === '' || /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// URL')
    .transform((value) => (value === '' ? undefined : value))
    .optional(),
  EASEL_DATA_DIR: z.string().trim().min(1).default('./.easel'),
  REDIS_URL: optionalString.refine((v) => v === undefined || /^rediss?:\/\//.test(v), 'must be a redis:// URL'),
  ADMIN_API_KEY: optionalString.refine((v) => v === undefined || v.length >= 20, 'must be at least 20 characters'),
  EASEL_MODELS_FILE: optionalString,
  EASEL_CONSOLE_DIR: optionalString,
  IMAGE_STORE: z.enum(['local', 's3']).default('local'),
  // The S3 store's (IMAGE_STORE=s3); credentials come from the AWS variables or the SDK's chain.
  S3_BUCKET: optionalString,
  S3_ENDPOINT: httpUrl.optional(),
  S3_REGION: optionalString,
  S3_FORCE_PATH_STYLE: booleanString.default(false),
  // Put before every key as it is ("easel/" keeps the images in a folder).
  S3_PREFIX: optionalString.refine((v) => v === undefined || !v.startsWith('/'), 'must not start with /'),
  IMAGE_URL_MODE: z.enum(['gateway', 'presigned']).default('gateway'),
  IMAGE_URL_TTL_SECONDS: integer(1, 7 * 24 * 3600, 'seconds (7 days)').default(3600),
  URL_SIGNING_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
  // The default Azure route's variables: validated here, read like every route's through AppConfig.variable().
  AZURE_OPENAI_ENDPOINT: httpUrl.optional(),
  AZURE_OPENAI_API_KEY: optionalString,
  AZURE_OPENAI_API_VERSION: z.string().trim().min(1).default('2025-04-01-preview'),
  VERTEX_PROJECT: optionalString,
  VERTEX_LOCATION: z
    .string()
    .trim()
    .regex(/^[a-z0-9-]+$/, 'must be a location such as global or us-central1')
    .default('global'),
  GOOGLE_APPLICATION_CREDENTIALS: optionalString,
  VERTEX_ACCESS_TOKEN: optionalString,
  VERTEX_BASE_URL: httpUrl.optional(),
  // The default routes of the `openai` and `gemini` providers (a route may name others): read
  // through AppConfig.variable(); unset base URLs are the public APIs'.
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: httpUrl.optional(),
  GEMINI_API_KEY: optionalString,
  GEMINI_BASE_URL: httpUrl.optional(),
  UPSTREAM_TIMEOUT_MS: integer(100, 3_600_000, 'milliseconds (1 hour)').default(600_000),
  // The whole request (headers and body) must arrive within this; a client dribbling it is cut (408).
  REQUEST_TIMEOUT_MS: integer(1000, 600_000, 'milliseconds (10 minutes)').default(30_000),
  RATE_LIMIT_RPM: integer(1, 1_000_000, 'requests per minute').default(60),
  // At most 500 MiB: a larger JSON answer could not be held as one string (V8 caps strings near 512 MiB).
  MAX_RESPONSE_BYTES: integer(1024, 500 * 1024 * 1024, 'bytes (500 MiB)').default(104_857_600),
  // The answers in flight together, by the estimate of their bytes (src/http/in-flight-bytes.ts):
  // past it, 503 `overloaded` before the upstream is called. Unset: half the memory the process
  // may use (its cgroup limit, else the machine's), at least 256 MiB (AppConfig).
  MAX_IN_FLIGHT_BYTES: integer(1024 * 1024, 1024 ** 4, 'bytes (1 MiB to 1 TiB)').optional(),
  // Upstream image data held in memory by all requests together; past it, the base64 of further
  // images is spooled to unnamed temporary files under EASEL_DATA_DIR/spool (src/common/spool/).
  SPOOL_THRESHOLD_BYTES: integer(0, 1024 ** 4, 'bytes (1 TiB)').default(64 * 1024 * 1024),
  // Edit uploads: one file, and all files of one request together (SPEC §2: 25 MB / 100 MB).
  UPLOAD_MAX_FILE_BYTES: integer(1024, 200 * 1024 * 1024, 'bytes (200 MiB)').default(25 * 1024 * 1024),
  UPLOAD_MAX_TOTAL_BYTES: integer(1024, 400 * 1024 * 1024, 'bytes (400 MiB)').default(100 * 1024 * 1024),
  // Usage records older than this many whole months (beyond the current one) are dropped, a month
  // at a time (docs/OPERATIONS.md#usage-partitions); unset keeps everything.
  USAGE_RETENTION_MONTHS: integer(1, 1200, 'months (100 years)').optional(),
  // A 128 px WebP preview of each generated image, kept with the usage records for the console's
  // request log (docs/CONSOLE.md#image-previews); off: nothing is made or stored.
  CONSOLE_THUMBNAILS: booleanString.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PROMPTS: booleanString.default(false),
  // Tracing (OpenTelemetry): off unless an OTLP endpoint is given. The SDK reads the other OTEL_*
  // variables itself (docs/OPERATIONS.md#tracing); these two are checked here so a typo stops the start.
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('easel'),
  REMOTE_IMAGE_URLS: booleanString.default(false),
  REMOTE_IMAGE_ALLOWED_NETWORKS: cidrList.default([]),
  REMOTE_IMAGE_TIMEOUT_MS: integer(100, 600_000, 'milliseconds (10 minutes)').default(10_000),
  CORS_ORIGINS: optionalString.refine(
    (v) => v === undefined || v.split(',').every((origin) => origin.trim() === '*' || URL.canParse(origin.trim())),
    'must be a comma-separated list of origins (https://app.example.com) or *',
  ),
});

/** Combinations no single variable can refuse (each issue names the variable to change). */
const checkedEnvSchema = envSchema.superRefine((env, context) => {
  if (env.IMAGE_STORE === 's3' && env.S3_BUCKET === undefined) {
    context.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'must be set when IMAGE_STORE=s3' });
  }
  if (env.IMAGE_URL_MODE === 'presigned' && env.IMAGE_STORE !== 's3') {
    context.addIssue({
      code: 'custom',
      path: ['IMAGE_URL_MODE'],
      message: 'presigned needs IMAGE_STORE=s3 (only a bucket signs its own URLs); use gateway',
    });
  }
});

export type Env = z.output<typeof envSchema>;
export type EnvInput = Partial<Record<keyof z.input<typeof envSchema>, string>>;

export class InvalidEnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

/** Validates raw variables; empty strings count as unset. Throws naming every bad variable. */
export function validateEnv(raw: Record<string, string | undefined>): Env {
  const known = Object.fromEntries(
    Object.keys(envSchema.shape)
      .map((name) => [name, raw[name]] as const)
      .filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = checkedEnvSchema.safeParse(known);
  if (!result.success) {
    throw new InvalidEnvironmentError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'environment');
        return `${name}: ${issue.message}${name in known ? ` (got "${redact(name, known[name])}")` : ''}`;
      }),
    );
  }
  return result.data;
}

function redact(name: string, value: string | undefined): string {
  return /KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL/.test(name) ? '***' : String(value);
}

/** process.env over the variables of `.env` in the working directory, if there is one. */
export function readProcessEnv(cwd = process.cwd()): Record<string, string | undefined> {
  const file = resolve(cwd, '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}
