import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app.config.js';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import { OpenAiImagesAdapter, type OpenAiImagesTarget } from '../openai-images/openai-images.adapter.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';

/** The public API's base URL, for a route whose base variable is unset. */
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * The public OpenAI API's GPT image models: `POST {base}/images/generations` (JSON) and
 * `{base}/images/edits` (multipart) with `Authorization: Bearer {key}` and the upstream model in
 * the body's `model` field. The protocol itself is `OpenAiImagesAdapter`'s, shared with Azure.
 */
@Injectable()
export class OpenAiAdapter extends OpenAiImagesAdapter {
  readonly kind = 'openai' as const;
  protected readonly upstreamName = 'OpenAI';

  constructor(
    private readonly config: AppConfig,
    http: UpstreamHttp,
  ) {
    super(http);
  }

  /**
   * The base URL from `endpoint_env` (default `OPENAI_BASE_URL`, else the public API's) and the key
   * from `api_key_env` (default `OPENAI_API_KEY`): without a key the route is unused; a base URL
   * that is not http(s) refuses the start. The upstream model is the route's `upstream_model`,
   * else the model id's last segment.
   */
  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<OpenAiImagesTarget> {
    const baseVariable = route.endpoint_env ?? 'OPENAI_BASE_URL';
    const keyVariable = route.api_key_env ?? 'OPENAI_API_KEY';
    const base = this.config.urlVariable(baseVariable, `model ${model.id}, route ${route.name}`) ?? DEFAULT_BASE_URL;
    const apiKey = this.config.variable(keyVariable);
    if (!apiKey) return { missing: [keyVariable] };
    return {
      target: {
        generationsUrl: `${base}/images/generations`,
        editsUrl: `${base}/images/edits`,
        headers: { authorization: `Bearer ${apiKey}` },
        model: route.upstream_model ?? model.id.split('/').at(-1)!,
      },
      missing: [],
    };
  }
}
