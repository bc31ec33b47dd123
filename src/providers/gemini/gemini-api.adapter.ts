import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app.config.js';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import {
  GeminiContentAdapter,
  type GeminiContentTarget,
  geminiContentTarget,
} from '../gemini-content/gemini-content.adapter.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';

export interface GeminiApiTarget extends GeminiContentTarget {
  apiKey: string;
}

const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

/**
 * Gemini image models on the Gemini API (`generativelanguage.googleapis.com`), for chat and the
 * images endpoints: the same `generateContent` protocol as Vertex AI (`GeminiContentAdapter`) at
 * `{base}/models/{model}`, authenticated by an API key in `x-goog-api-key` (never in the URL,
 * where it would reach logs; upstreams.md §3.2, models-and-edits-2026.md §3.1).
 */
@Injectable()
export class GeminiApiAdapter extends GeminiContentAdapter<GeminiApiTarget> {
  readonly kind = 'gemini' as const;
  protected readonly upstreamName = 'Gemini API';

  constructor(
    private readonly config: AppConfig,
    http: UpstreamHttp,
  ) {
    super(http);
  }

  /** The key from `api_key_env` (default GEMINI_API_KEY); the base from `endpoint_env` (default GEMINI_BASE_URL), else Google's. */
  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<GeminiApiTarget> {
    const keyVariable = route.api_key_env ?? 'GEMINI_API_KEY';
    const baseVariable = route.endpoint_env ?? 'GEMINI_BASE_URL';
    const apiKey = this.config.variable(keyVariable);
    if (!apiKey) return { missing: [keyVariable] };
    const base = this.config.urlVariable(baseVariable, `model ${model.id}, route ${route.name}`) ?? DEFAULT_BASE_URL;
    const upstreamModel = route.upstream_model ?? model.id.split('/').at(-1)!;
    return {
      target: { ...geminiContentTarget(model, `${base}/models/${encodeURIComponent(upstreamModel)}`), apiKey },
      missing: [],
    };
  }

  protected headers(target: GeminiApiTarget): Record<string, string> {
    return { 'x-goog-api-key': target.apiKey };
  }
}
