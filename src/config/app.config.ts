import { resolve } from 'node:path';
import type { Cidr } from '../common/net/address.policy.js';
import { type Env, readProcessEnv, validateEnv } from './env.validation.js';

/**
 * Typed, namespaced configuration built once at boot from validated environment variables.
 * Injected by class; tests build their own with `AppConfig.fromEnv({...})`.
 */
export class AppConfig {
  readonly http: { port: number; host: string; publicBaseUrl: string; corsOrigins: string[]; requestTimeoutMs: number };
  readonly dataDir: string;
  readonly database: { url?: string };
  readonly redisUrl?: string;
  readonly adminApiKey?: string;
  readonly modelsFile: string;
  readonly storage: {
    driver: Env['IMAGE_STORE'];
    urlTtlSeconds: number;
    signingSecret?: string;
    s3: { bucket?: string; endpoint?: string; region?: string; forcePathStyle: boolean };
  };
  readonly azure: { endpoint?: string; apiKey?: string; apiVersion: string };
  readonly vertex: {
    project?: string;
    location: string;
    credentialsFile?: string;
    accessToken?: string;
    baseUrl?: string;
  };
  readonly upstream: { timeoutMs: number; maxResponseBytes: number };
  readonly rateLimitRpm: number;
  /** Fetching `http(s)` image URLs of chat input (off: only data URLs). */
  readonly remoteImages: { enabled: boolean; allowedNetworks: Cidr[]; timeoutMs: number };
  readonly logging: { level: Env['LOG_LEVEL']; logPrompts: boolean };

  private constructor(
    env: Env,
    private readonly raw: Readonly<Record<string, string | undefined>>,
  ) {
    this.http = {
      port: env.PORT,
      host: env.HOST,
      publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`,
      corsOrigins: env.CORS_ORIGINS?.split(',').map((origin) => origin.trim()).filter(Boolean) ?? [],
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    };
    this.dataDir = resolve(env.EASEL_DATA_DIR);
    this.database = { url: env.DATABASE_URL };
    this.redisUrl = env.REDIS_URL;
    this.adminApiKey = env.ADMIN_API_KEY;
    this.modelsFile = resolve(env.EASEL_MODELS_FILE ?? 'config/models.yaml');
    this.storage = {
      driver: env.IMAGE_STORE,
      urlTtlSeconds: env.IMAGE_URL_TTL_SECONDS,
      signingSecret: env.URL_SIGNING_SECRET,
      s3: {
        bucket: env.S3_BUCKET,
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION,
        forcePathStyle: env.S3_FORCE_PATH_STYLE,
      },
    };
    this.azure = {
      endpoint: env.AZURE_OPENAI_ENDPOINT,
      apiKey: env.AZURE_OPENAI_API_KEY,
      apiVersion: env.AZURE_OPENAI_API_VERSION,
    };
    this.vertex = {
      project: env.VERTEX_PROJECT,
      location: env.VERTEX_LOCATION,
      credentialsFile: env.GOOGLE_APPLICATION_CREDENTIALS,
      accessToken: env.VERTEX_ACCESS_TOKEN,
      baseUrl: env.VERTEX_BASE_URL,
    };
    this.upstream = { timeoutMs: env.UPSTREAM_TIMEOUT_MS, maxResponseBytes: env.MAX_RESPONSE_BYTES };
    this.rateLimitRpm = env.RATE_LIMIT_RPM;
    this.remoteImages = {
      enabled: env.REMOTE_IMAGE_URLS,
      allowedNetworks: env.REMOTE_IMAGE_ALLOWED_NETWORKS,
      timeoutMs: env.REMOTE_IMAGE_TIMEOUT_MS,
    };
    this.logging = { level: env.LOG_LEVEL, logPrompts: env.LOG_PROMPTS };
  }

  /**
   * A variable named in the model catalogue (a route's `endpoint_env`, `api_key_env`), read as
   * given at start; empty counts as unset.
   */
  variable(name: string): string | undefined {
    const value = this.raw[name]?.trim();
    return value ? value : undefined;
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
