import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Cidr } from '../common/net/address.policy.js';
import { type Env, readProcessEnv, validateEnv } from './env.validation.js';

/**
 * Typed, namespaced configuration built once at boot from validated environment variables.
 * Injected by class; tests build their own with `AppConfig.fromEnv({...})`.
 *
 * Two kinds of variable, one way to read each:
 * - the fixed ones (SPEC §2, `envSchema`) through the typed fields below, validated at start;
 * - those the model catalogue names per route (`endpoint_env`, `api_key_env`, and their defaults
 *   `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`) through `variable(name)`, which the adapter
 *   resolving the route calls at boot; a route whose variables are unset is not used.
 */
/** Limits of an edit's uploads, in bytes (a file is never allowed more than all files together). */
export interface UploadLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** Where `IMAGE_STORE=s3` keeps images (credentials: the AWS variables or the SDK's chain). */
export interface S3StoreConfig {
  bucket: string;
  /** Any S3-compatible store; unset = AWS. */
  endpoint?: string;
  /** Unset = the SDK's own resolution (`AWS_REGION`, the shared config file). */
  region?: string;
  forcePathStyle: boolean;
  /** Put before every key, as given ('' = none). */
  prefix: string;
}

/** The least `MAX_IN_FLIGHT_BYTES` defaults to, however little memory the process may use. */
export const MIN_DEFAULT_IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/**
 * `MAX_IN_FLIGHT_BYTES` when it is unset: half the memory the process may use, at least 256 MiB.
 * `constrained` is the cgroup's limit as `process.constrainedMemory()` reports it (0, or a number
 * past the machine's memory, when there is none); `total` the machine's memory. Half, because the
 * process holds more than the answers' bytes (Node itself, buffers being copied, the rest of the
 * heap), and the answers of a burst should fit twice over before the limit kills the process.
 */
export function defaultInFlightBytes(constrained: number, total: number): number {
  const memory = constrained > 0 && constrained < total ? constrained : total;
  return Math.max(MIN_DEFAULT_IN_FLIGHT_BYTES, Math.floor(memory / 2));
}

export class AppConfig {
  readonly http: { port: number; host: string; publicBaseUrl: string; corsOrigins: string[]; requestTimeoutMs: number };
  readonly dataDir: string;
  readonly database: { url?: string };
  readonly redisUrl?: string;
  readonly adminApiKey?: string;
  readonly modelsFile: string;
  /** `EASEL_CONSOLE_DIR`: the built console served at /console; unset = this checkout's `dist/console`. */
  readonly consoleDir?: string;
  readonly storage: {
    driver: Env['IMAGE_STORE'];
    urlTtlSeconds: number;
    signingSecret?: string;
    /** `gateway`: Easel's signed URLs; `presigned`: the bucket's own (only with `s3`). */
    urlMode: Env['IMAGE_URL_MODE'];
    /** Set when `driver` is `s3`. */
    s3?: S3StoreConfig;
  };
  readonly azure: { apiVersion: string };
  readonly vertex: {
    project?: string;
    location: string;
    credentialsFile?: string;
    accessToken?: string;
    baseUrl?: string;
  };
  readonly upstream: { timeoutMs: number; maxResponseBytes: number };
  readonly rateLimitRpm: number;
  /** `USAGE_RETENTION_MONTHS`: months of usage kept before the current one; unset keeps all. */
  readonly usageRetentionMonths?: number;
  /** `CONSOLE_THUMBNAILS`: store a 128 px preview of each generated image (src/usage/thumbnails/). */
  readonly consoleThumbnails: boolean;
  /** Edit uploads: the largest file, and all files of one request together. */
  readonly uploads: UploadLimits;
  /**
   * The estimated bytes of the answers in flight together (`InFlightBytes`): `MAX_IN_FLIGHT_BYTES`,
   * else `defaultInFlightBytes` of this machine, read once at start.
   */
  readonly maxInFlightBytes: number;
  /**
   * Upstream image data held in memory by all requests together (`SPOOL_THRESHOLD_BYTES`); past
   * it, in unnamed temporary files in `dir` (`ByteSpool`).
   */
  readonly spool: { memoryBytes: number; dir: string };
  /** Fetching `http(s)` image URLs of chat input (off: only data URLs). */
  readonly remoteImages: { enabled: boolean; allowedNetworks: Cidr[]; timeoutMs: number };
  readonly logging: { level: Env['LOG_LEVEL']; logPrompts: boolean };
  /** OpenTelemetry: traces go to `otlpEndpoint` when it is set (`startTracing`, src/tracing/). */
  readonly tracing: { otlpEndpoint?: string; serviceName: string };

  private constructor(
    env: Env,
    private readonly raw: Readonly<Record<string, string | undefined>>,
  ) {
    this.http = {
      port: env.PORT,
      host: env.HOST,
      publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`,
      corsOrigins:
        env.CORS_ORIGINS?.split(',')
          .map((origin) => origin.trim())
          .filter(Boolean) ?? [],
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    };
    this.dataDir = resolve(env.EASEL_DATA_DIR);
    this.database = { url: env.DATABASE_URL };
    this.redisUrl = env.REDIS_URL;
    this.adminApiKey = env.ADMIN_API_KEY;
    this.modelsFile = resolve(env.EASEL_MODELS_FILE ?? 'config/models.yaml');
    this.consoleDir = env.EASEL_CONSOLE_DIR === undefined ? undefined : resolve(env.EASEL_CONSOLE_DIR);
    this.storage = {
      driver: env.IMAGE_STORE,
      urlTtlSeconds: env.IMAGE_URL_TTL_SECONDS,
      signingSecret: env.URL_SIGNING_SECRET,
      urlMode: env.IMAGE_URL_MODE,
      s3:
        env.IMAGE_STORE === 's3'
          ? {
              bucket: env.S3_BUCKET!, // required with s3 by the schema
              endpoint: env.S3_ENDPOINT,
              region: env.S3_REGION,
              forcePathStyle: env.S3_FORCE_PATH_STYLE,
              prefix: env.S3_PREFIX ?? '',
            }
          : undefined,
    };
    this.azure = { apiVersion: env.AZURE_OPENAI_API_VERSION };
    this.vertex = {
      project: env.VERTEX_PROJECT,
      location: env.VERTEX_LOCATION,
      credentialsFile: env.GOOGLE_APPLICATION_CREDENTIALS,
      accessToken: env.VERTEX_ACCESS_TOKEN,
      baseUrl: env.VERTEX_BASE_URL,
    };
    this.upstream = { timeoutMs: env.UPSTREAM_TIMEOUT_MS, maxResponseBytes: env.MAX_RESPONSE_BYTES };
    this.rateLimitRpm = env.RATE_LIMIT_RPM;
    this.usageRetentionMonths = env.USAGE_RETENTION_MONTHS;
    this.consoleThumbnails = env.CONSOLE_THUMBNAILS;
    this.uploads = {
      maxFileBytes: Math.min(env.UPLOAD_MAX_FILE_BYTES, env.UPLOAD_MAX_TOTAL_BYTES),
      maxTotalBytes: env.UPLOAD_MAX_TOTAL_BYTES,
    };
    this.maxInFlightBytes = env.MAX_IN_FLIGHT_BYTES ?? defaultInFlightBytes(process.constrainedMemory(), totalmem());
    this.spool = { memoryBytes: env.SPOOL_THRESHOLD_BYTES, dir: join(this.dataDir, 'spool') };
    this.remoteImages = {
      enabled: env.REMOTE_IMAGE_URLS,
      allowedNetworks: env.REMOTE_IMAGE_ALLOWED_NETWORKS,
      timeoutMs: env.REMOTE_IMAGE_TIMEOUT_MS,
    };
    this.logging = { level: env.LOG_LEVEL, logPrompts: env.LOG_PROMPTS };
    this.tracing = { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME };
  }

  /**
   * A variable the model catalogue names (a route's `endpoint_env`, `api_key_env`, or their
   * defaults), as given at start, trimmed; empty counts as unset. Any name is allowed, so the
   * adapter that uses the value checks it (the schema checks only the default names).
   */
  variable(name: string): string | undefined {
    const value = this.raw[name]?.trim();
    return value ? value : undefined;
  }

  /**
   * A catalogue-named variable holding a base URL (a route's `endpoint_env` or its default), as
   * `variable` reads it, trailing `/` dropped. A value that is not an http(s) URL stops the start,
   * naming the variable and `where` it is used (the schema checks only the default names).
   */
  urlVariable(name: string, where: string): string | undefined {
    const value = this.variable(name)?.replace(/\/+$/, '');
    if (value !== undefined && !(/^https?:\/\//.test(value) && URL.canParse(value))) {
      throw new Error(`${name} must be an http(s) URL (${where})`);
    }
    return value;
  }

  /** Validates the given variables (throws `InvalidEnvironmentError` naming each bad one). */
  static fromEnv(raw: Record<string, string | undefined>): AppConfig {
    return new AppConfig(validateEnv(raw), { ...raw });
  }

  /** The process environment plus `.env`, as the server reads it at start. */
  static fromProcess(): AppConfig {
    return AppConfig.fromEnv(readProcessEnv());
  }
}
