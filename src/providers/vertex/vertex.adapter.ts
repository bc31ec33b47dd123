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
import { VertexAuth } from './vertex-auth.js';

export type VertexTarget = GeminiContentTarget;

/**
 * Gemini image models on Vertex AI, for chat and the images endpoints: Gemini's `generateContent`
 * protocol (`GeminiContentAdapter`) at `…/projects/{p}/locations/{l}/publishers/google/models/{m}`,
 * with an OAuth bearer token (`VertexAuth`).
 */
@Injectable()
export class VertexAdapter extends GeminiContentAdapter<VertexTarget> {
  readonly kind = 'vertex' as const;
  protected readonly upstreamName = 'Vertex AI';

  constructor(
    private readonly config: AppConfig,
    http: UpstreamHttp,
    private readonly auth: VertexAuth,
  ) {
    super(http);
  }

  /**
   * The route's `location` (the Gemini 3 image models answer on `global`), else VERTEX_LOCATION;
   * `global` has a host without a region prefix (upstreams.md §3.2). VERTEX_BASE_URL replaces the host.
   */
  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<VertexTarget> {
    const { project, baseUrl } = this.config.vertex;
    if (!project) return { missing: ['VERTEX_PROJECT'] };
    const location = route.location ?? this.config.vertex.location;
    const base =
      baseUrl ??
      (location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`);
    const upstreamModel = route.upstream_model ?? model.id.split('/').at(-1)!;
    const modelUrl = `${base}/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/google/models/${encodeURIComponent(upstreamModel)}`;
    return { target: geminiContentTarget(model, modelUrl), missing: [] };
  }

  protected async headers(): Promise<Record<string, string>> {
    return { authorization: await this.auth.authorization() };
  }
}
