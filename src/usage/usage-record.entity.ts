import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CountColumn, UsdColumn } from '../database/columns.js';

/**
 * One row per request to /v1 after authentication, success or failure (SPEC §7). Never image bytes;
 * the prompt as a hash and a length (its text only with LOG_PROMPTS=true). The id is made by
 * Easel, so a spooled record replays exactly once (ON CONFLICT DO NOTHING on id and created_at,
 * both set once when the record is made). Partitioned by month; `usage_daily_rollups` sums it.
 */
@Entity('usage_records')
@Index('idx_usage_records_api_key_created_at', ['apiKeyId', 'createdAt'])
@Index('idx_usage_records_team_created_at', ['team', 'createdAt'])
@Index('idx_usage_records_model_created_at', ['model', 'createdAt'])
export class UsageRecordEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Part of the key: the table is partitioned by month of it (src/usage/usage-partitions.ts). */
  @PrimaryColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Index('idx_usage_records_request_id')
  @Column({ name: 'request_id', type: 'varchar', length: 128 })
  requestId!: string;

  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId!: string | null;

  @Column({ type: 'varchar', length: 100 })
  team!: string;

  @Column({ type: 'varchar', length: 32 })
  endpoint!: string;

  /** The model the client asked for. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  model!: string | null;

  /**
   * The model that served the request: `model` itself, or its successor when `model` is past its
   * shutdown with `after_shutdown: successor` (prices are the served model's). Null when no
   * model was settled on (unknown, refused before).
   */
  @Column({ name: 'served_model', type: 'varchar', length: 200, nullable: true })
  servedModel!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  route!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: 'success' | 'error';

  @Column({ name: 'http_status', type: 'smallint' })
  httpStatus!: number;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'latency_ms', type: 'integer' })
  latencyMs!: number;

  @Column({ name: 'upstream_latency_ms', type: 'integer', nullable: true })
  upstreamLatencyMs!: number | null;

  @CountColumn('images')
  images!: number;

  /** Images sent to be edited (and the mask), and their bytes: never the bytes themselves. */
  @CountColumn('input_images')
  inputImages!: number;

  @CountColumn('input_image_bytes')
  inputImageBytes!: number;

  @Column({ type: 'varchar', length: 32, nullable: true })
  size!: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  quality!: string | null;

  @CountColumn('input_text_tokens')
  inputTextTokens!: number;

  @CountColumn('input_image_tokens')
  inputImageTokens!: number;

  @CountColumn('cached_input_tokens')
  cachedInputTokens!: number;

  @CountColumn('output_text_tokens')
  outputTextTokens!: number;

  @CountColumn('output_image_tokens')
  outputImageTokens!: number;

  @CountColumn('input_tokens')
  inputTokens!: number;

  @CountColumn('output_tokens')
  outputTokens!: number;

  /** USD, exact. */
  @UsdColumn('cost_usd', { default: 0 })
  costUsd!: string;

  @Column({ name: 'price_version', type: 'integer', nullable: true })
  priceVersion!: number | null;

  @Column({ name: 'user', type: 'varchar', length: 256, nullable: true })
  user!: string | null;

  @Column({ name: 'prompt_sha256', type: 'char', length: 64, nullable: true })
  promptSha256!: string | null;

  @Column({ name: 'prompt_length', type: 'integer', nullable: true })
  promptLength!: number | null;

  /** Only with LOG_PROMPTS=true. */
  @Column({ name: 'prompt_text', type: 'text', nullable: true })
  promptText!: string | null;
}
