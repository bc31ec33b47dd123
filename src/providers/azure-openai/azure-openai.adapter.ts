import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { AppConfig } from '../../config/app.config.js';
import type { ModelDefinition, RouteDefinition } from '../../config/models.catalogue.js';
import { OpenAiImagesAdapter, type OpenAiImagesTarget } from '../openai-images/openai-images.adapter.js';
import type { ResolvedTarget } from '../provider.interface.js';
import { UpstreamHttp, UpstreamHttpError } from '../upstream-http.js';

/**
 * Azure OpenAI GPT image models: `POST {endpoint}/openai/deployments/{deployment}/images/generations
 * ?api-version={v}` (JSON) and `…/images/edits?api-version={v}` (multipart), with the `api-key`
 * header; the deployment in the URL names the model, so the body has no `model`. OpenAI's images
 * protocol otherwise (`OpenAiImagesAdapter`), streams included (Azure streams OpenAI's own
 * `image_generation.partial_image` / `.completed` events), plus Azure's own intermittent edit refusal.
 */
@Injectable()
export class AzureOpenAiAdapter extends OpenAiImagesAdapter {
  readonly kind = 'azure-openai' as const;
  protected readonly upstreamName = 'Azure OpenAI';

  constructor(
    private readonly config: AppConfig,
    http: UpstreamHttp,
  ) {
    super(http);
  }

  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<OpenAiImagesTarget> {
    const endpointVariable = route.endpoint_env ?? 'AZURE_OPENAI_ENDPOINT';
    const keyVariable = route.api_key_env ?? 'AZURE_OPENAI_API_KEY';
    const endpoint = this.config.urlVariable(endpointVariable, `model ${model.id}, route ${route.name}`);
    const apiKey = this.config.variable(keyVariable);
    const missing = [endpoint ? undefined : endpointVariable, apiKey ? undefined : keyVariable].filter(
      (name): name is string => name !== undefined,
    );
    if (!endpoint || !apiKey) return { missing };
    const deployment = encodeURIComponent(route.deployment ?? model.id.split('/').at(-1)!);
    const apiVersion = encodeURIComponent(route.api_version ?? this.config.azure.apiVersion);
    const images = `${endpoint}/openai/deployments/${deployment}/images`;
    return {
      target: {
        generationsUrl: `${images}/generations?api-version=${apiVersion}`,
        editsUrl: `${images}/edits?api-version=${apiVersion}`,
        headers: { 'api-key': apiKey },
      },
      missing: [],
    };
  }

  /**
   * Azure's failures as the client sees them (`mapUpstreamError`), but for one: Azure intermittently
   * refuses a multipart edit with 400 "Unsupported content type: 'multipart/form-data'. This API
   * method only accepts 'application/json'" (openai-python #2749, dify-official-plugins #2881), a
   * fault of its own that another attempt gets past: transient, so it is retried.
   */
  protected override toGatewayError(error: unknown): GatewayError {
    if (
      error instanceof UpstreamHttpError &&
      error.status === 400 &&
      /Unsupported content type: 'multipart\/form-data'/i.test(JSON.stringify(error.body))
    ) {
      return new GatewayError(
        ErrorCode.UpstreamError,
        'Azure OpenAI refused the edit\'s multipart body ("Unsupported content type"), a known intermittent fault of its own.',
        { cause: error, transient: true },
      );
    }
    return super.toGatewayError(error);
  }
}
