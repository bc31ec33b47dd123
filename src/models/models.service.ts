import { Injectable } from '@nestjs/common';
import { assertMayUseModel, mayUseModel } from '../auth/model-access.js';
import type { Principal } from '../auth/principal.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { ModelLifecycle } from '../config/models.catalogue.js';
import { ProviderRegistry, type RegisteredModel } from '../providers/provider-registry.service.js';
import type { ModelDto, ModelListDto } from './dto/model.response.js';

@Injectable()
export class ModelsService {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly registry: ProviderRegistry) {}

  /** The models this key may use. */
  list(principal: Principal): ModelListDto {
    return {
      object: 'list',
      data: this.registry
        .list()
        .filter((model) => mayUseModel(principal, model.definition.id))
        .map((model) => this.toDto(model)),
    };
  }

  get(principal: Principal, id: string): ModelDto {
    const model = this.registry.list().find((candidate) => candidate.definition.id === id);
    if (!model)
      throw new GatewayError(ErrorCode.ModelNotFound, `The model '${id}' does not exist.`, { param: 'model' });
    assertMayUseModel(principal, id);
    return this.toDto(model);
  }

  private toDto({ definition, routes, unavailableReason }: RegisteredModel): ModelDto {
    const { capabilities } = definition;
    return {
      id: definition.id,
      object: 'model',
      created: this.created,
      owned_by: definition.id.split('/')[1] ?? definition.provider,
      provider: definition.provider,
      description: definition.description,
      endpoints: [...definition.endpoints],
      available: routes.length > 0,
      ...lifecycleOf(definition.lifecycle, new Date().toISOString().slice(0, 10)),
      ...(unavailableReason ? { unavailable_reason: unavailableReason } : {}),
      capabilities: {
        sizes: capabilities.sizes,
        qualities: capabilities.qualities,
        backgrounds: capabilities.backgrounds,
        output_formats: capabilities.output_formats,
        max_n: capabilities.max_n,
        max_prompt_chars: capabilities.max_prompt_chars,
        streaming: capabilities.streaming,
        max_input_images: capabilities.max_input_images,
        edits: capabilities.edits,
        mask: capabilities.mask,
        input_fidelity: capabilities.input_fidelity,
      },
    };
  }
}

/**
 * A model's lifecycle as OpenAI's `/v1/models` reports it (`shutdown_date`), plus whether it is
 * deprecated on `today` (`YYYY-MM-DD`, UTC) and its successor.
 */
export function lifecycleOf(
  lifecycle: ModelLifecycle | undefined,
  today: string,
): Pick<ModelDto, 'shutdown_date' | 'deprecated' | 'successor'> {
  const deprecatedFrom = lifecycle?.deprecatedOn ?? lifecycle?.shutdownOn;
  return {
    shutdown_date: lifecycle?.shutdownOn ?? null,
    deprecated: deprecatedFrom !== undefined && deprecatedFrom <= today,
    successor: lifecycle?.successor ?? null,
  };
}
