import { Injectable } from '@nestjs/common';
import { assertMayUseModel, mayUseModel } from '../auth/model-access.js';
import type { Principal } from '../auth/principal.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { AppConfig } from '../config/app.config.js';
import { lifecycleOf, lifecycleRoute, today } from '../providers/model-lifecycle.gate.js';
import { ProviderRegistry, type RegisteredModel } from '../providers/provider-registry.service.js';
import type { ModelDto, ModelListDto } from './dto/model.response.js';

@Injectable()
export class ModelsService {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly config: AppConfig,
  ) {}

  /** The models this key may use; every model of the catalogue without a key (an admin's view). */
  list(principal?: Principal): ModelListDto {
    return {
      object: 'list',
      data: this.registry
        .list()
        .filter((model) => !principal || mayUseModel(principal, model.definition.id))
        .map((model) => this.toDto(model)),
    };
  }

  get(principal: Principal, id: string): ModelDto {
    const model = this.registry.find(id);
    if (!model)
      throw new GatewayError(ErrorCode.ModelNotFound, `The model '${id}' does not exist.`, { param: 'model' });
    assertMayUseModel(principal, id);
    return this.toDto(model);
  }

  /**
   * A model as clients see it. A retired model served by its successor is available, and takes
   * requests, as the successor does: its availability and capabilities are the successor's.
   */
  private toDto(model: RegisteredModel): ModelDto {
    const { definition } = model;
    const day = today();
    const route = lifecycleRoute(model, day, (id) => this.registry.find(id)!);
    const { routes, unavailableReason, definition: served } = 'served' in route ? route.served : model;
    const { capabilities } = served;
    return {
      id: definition.id,
      object: 'model',
      created: this.created,
      owned_by: definition.id.split('/')[1] ?? definition.provider,
      provider: definition.provider,
      description: definition.description,
      endpoints: [...definition.endpoints],
      available: routes.length > 0,
      ...lifecycleOf(definition.lifecycle, day),
      ...(unavailableReason ? { unavailable_reason: unavailableReason } : {}),
      // The catalogue's capabilities as they are (a new one shows here without a line of code),
      // with the limits that also depend on this server's settings made effective.
      capabilities: {
        ...capabilities,
        custom_sizes: capabilities.custom_sizes ?? null,
        max_input_image_bytes: Math.min(
          capabilities.max_input_image_bytes ?? Number.MAX_SAFE_INTEGER,
          this.config.uploads.maxFileBytes,
        ),
      },
    };
  }
}
