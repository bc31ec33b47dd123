import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { type EndpointKind, type ModelDefinition, loadModelCatalogue } from '../config/models.catalogue.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { ImageProvider } from './provider.interface.js';
import { IMAGE_PROVIDERS } from './provider.tokens.js';

export interface RegisteredRoute {
  name: string;
  weight: number;
  target: unknown;
}

export interface RegisteredModel {
  definition: ModelDefinition;
  provider: ImageProvider;
  /** Routes whose settings are all present. */
  routes: RegisteredRoute[];
  /** Why the model cannot be served (the missing variables), when no route is usable. */
  unavailableReason?: string;
}

/**
 * Catalogue model id → adapter and resolved routes. Built once at boot; refuses to start on an
 * unknown provider kind. The only place that knows which adapter serves which model.
 */
@Injectable()
export class ProviderRegistry {
  private readonly models = new Map<string, RegisteredModel>();

  constructor(config: AppConfig, @Inject(IMAGE_PROVIDERS) providers: ImageProvider[]) {
    const byKind = new Map(providers.map((provider) => [provider.kind, provider]));
    for (const definition of loadModelCatalogue(config.modelsFile)) {
      const provider = byKind.get(definition.provider);
      if (!provider) {
        throw new Error(`Model ${definition.id}: no adapter for provider kind '${definition.provider}'`);
      }
      const routes: RegisteredRoute[] = [];
      const missing = new Set<string>();
      for (const route of definition.routes) {
        const resolved = provider.resolveRoute(definition, route);
        resolved.missing.forEach((name) => missing.add(name));
        if (resolved.missing.length === 0) routes.push({ name: route.name, weight: route.weight, target: resolved.target });
      }
      this.models.set(definition.id, {
        definition,
        provider,
        routes,
        unavailableReason: routes.length === 0 ? `set ${[...missing].join(', ')}` : undefined,
      });
    }
  }

  list(): RegisteredModel[] {
    return [...this.models.values()];
  }

  /** The model for an endpoint: 404 if unknown, 400 if it does not serve that endpoint. */
  forEndpoint(modelId: string, endpoint: EndpointKind): RegisteredModel {
    const model = this.models.get(modelId);
    if (!model) {
      throw new GatewayError(ErrorCode.ModelNotFound, `The model '${modelId}' does not exist. GET /v1/models lists the models.`, {
        param: 'model',
      });
    }
    if (!model.definition.endpoints.includes(endpoint)) {
      const path = endpoint === 'images' ? '/v1/images/generations' : '/v1/chat/completions';
      throw new GatewayError(ErrorCode.InvalidRequest, `The model '${modelId}' is not served on ${path}.`, { param: 'model' });
    }
    return model;
  }

  /** A usable route, weighted at random; 503 naming the missing settings when there is none. */
  pickRoute(model: RegisteredModel): RegisteredRoute {
    if (model.routes.length === 0) {
      throw new GatewayError(
        ErrorCode.ModelUnavailable,
        `The model '${model.definition.id}' is not configured on this server: ${model.unavailableReason}.`,
        { param: 'model' },
      );
    }
    if (model.routes.length === 1) return model.routes[0]!;
    const total = model.routes.reduce((sum, route) => sum + route.weight, 0);
    let ticket = Math.random() * total;
    for (const route of model.routes) {
      ticket -= route.weight;
      if (ticket < 0) return route;
    }
    return model.routes.at(-1)!;
  }
}
