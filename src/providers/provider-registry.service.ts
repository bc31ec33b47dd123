import { Inject, Injectable } from '@nestjs/common';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import { AppConfig } from '../config/app.config.js';
import { type EndpointKind, loadModelCatalogue, type ModelDefinition } from '../config/models.catalogue.js';
import { type ChatProvider, isChatProvider } from './chat-provider.interface.js';
import {
  type ImageEditProvider,
  type ImageEditStreamProvider,
  type ImageProvider,
  type ImageStreamProvider,
  isImageEditProvider,
  isImageEditStreamProvider,
  isImageProvider,
  isImageStreamProvider,
} from './image-provider.interface.js';
import type { RoutedProvider } from './provider.interface.js';
import { PROVIDER_ADAPTERS } from './provider.tokens.js';

export interface RegisteredRoute {
  name: string;
  weight: number;
  fallback: boolean;
  target: unknown;
}

export interface RegisteredModel<P extends RoutedProvider = RoutedProvider> {
  definition: ModelDefinition;
  provider: P;
  /** Routes whose settings are all present. */
  routes: RegisteredRoute[];
  /** Why the model cannot be served (the missing variables), when no route is usable. */
  unavailableReason?: string;
}

const PATHS: Record<EndpointKind, string> = { images: '/v1/images/generations', chat: '/v1/chat/completions' };

/** 400 for `stream: true` on a model that cannot stream (what `ImageRequestValidator` says too). */
export function cannotStreamError(modelId: string): InvalidRequestError {
  return new InvalidRequestError(`${modelId} does not support stream: true on this endpoint.`, 'stream');
}

/**
 * Catalogue model id → adapter and resolved routes. Built once at boot; refuses to start on an
 * unknown provider kind or an adapter that cannot serve an endpoint the catalogue gives it. The
 * only place that knows which adapter serves which model.
 *
 * Each endpoint has its own map, filled at boot with the adapter typed for that endpoint, so a
 * lookup returns a model whose provider has the methods the endpoint calls.
 */
@Injectable()
export class ProviderRegistry {
  private readonly models = new Map<string, RegisteredModel>();
  private readonly imageModels = new Map<string, RegisteredModel<ImageProvider>>();
  private readonly imageStreamModels = new Map<string, RegisteredModel<ImageStreamProvider>>();
  private readonly chatModels = new Map<string, RegisteredModel<ChatProvider>>();
  private readonly editModels = new Map<string, RegisteredModel<ImageEditProvider>>();
  private readonly editStreamModels = new Map<string, RegisteredModel<ImageEditStreamProvider>>();

  constructor(config: AppConfig, @Inject(PROVIDER_ADAPTERS) adapters: RoutedProvider[]) {
    const byKind = new Map(adapters.map((adapter) => [adapter.kind, adapter]));
    for (const definition of loadModelCatalogue(config.modelsFile)) {
      const provider = byKind.get(definition.provider);
      if (!provider) throw new Error(`Model ${definition.id}: no adapter for provider kind '${definition.provider}'`);
      for (const endpoint of definition.endpoints) {
        const serves = endpoint === 'images' ? isImageProvider(provider) : isChatProvider(provider);
        if (!serves) {
          throw new Error(`Model ${definition.id}: provider '${definition.provider}' cannot serve ${PATHS[endpoint]}`);
        }
      }
      if (definition.capabilities.streaming && !isImageStreamProvider(provider)) {
        throw new Error(
          `Model ${definition.id}: provider '${definition.provider}' cannot stream images (capabilities.streaming)`,
        );
      }
      const { edits, streaming } = definition.capabilities;
      if (edits && !(definition.endpoints.includes('images') && isImageEditProvider(provider))) {
        throw new Error(
          `Model ${definition.id}: capabilities.edits needs endpoint 'images' and a provider that edits ('${definition.provider}' ${isImageEditProvider(provider) ? 'does' : 'does not'})`,
        );
      }
      if (edits && streaming && !isImageEditStreamProvider(provider)) {
        throw new Error(
          `Model ${definition.id}: provider '${definition.provider}' cannot stream edits (capabilities.streaming with edits)`,
        );
      }
      const routes: RegisteredRoute[] = [];
      const missing = new Set<string>();
      for (const route of definition.routes) {
        const resolved = provider.resolveRoute(definition, route);
        resolved.missing.forEach((name) => missing.add(name));
        if (resolved.missing.length === 0) {
          routes.push({ name: route.name, weight: route.weight, fallback: route.fallback, target: resolved.target });
        }
      }
      const model: RegisteredModel = {
        definition,
        provider,
        routes,
        unavailableReason: routes.length === 0 ? `set ${[...missing].join(', ')}` : undefined,
      };
      this.models.set(definition.id, model);
      const served = new Set(definition.endpoints);
      if (served.has('images') && isImageProvider(provider)) {
        this.imageModels.set(definition.id, { ...model, provider });
      }
      if (served.has('images') && definition.capabilities.streaming && isImageStreamProvider(provider)) {
        this.imageStreamModels.set(definition.id, { ...model, provider });
      }
      if (edits && isImageEditProvider(provider)) {
        this.editModels.set(definition.id, { ...model, provider });
        if (streaming && isImageEditStreamProvider(provider))
          this.editStreamModels.set(definition.id, { ...model, provider });
      }
      if (served.has('chat') && isChatProvider(provider)) {
        this.chatModels.set(definition.id, { ...model, provider });
      }
    }
  }

  has(modelId: string): boolean {
    return this.models.has(modelId);
  }

  list(): RegisteredModel[] {
    return [...this.models.values()];
  }

  /** A catalogue model, whatever its endpoints. */
  find(modelId: string): RegisteredModel | undefined {
    return this.models.get(modelId);
  }

  /** A model served on /v1/images/generations: 404 if unknown, 400 if it is not served there. */
  imageModel(modelId: string): RegisteredModel<ImageProvider> {
    return this.imageModels.get(modelId) ?? this.refuse(modelId, 'images');
  }

  /**
   * A model served on /v1/images/generations with `stream: true`: as `imageModel`, then 400 if it
   * cannot stream. Services look it up after validation, which refuses such a request first.
   */
  imageStreamModel(modelId: string): RegisteredModel<ImageStreamProvider> {
    const model = this.imageStreamModels.get(modelId);
    if (model) return model;
    this.imageModel(modelId);
    throw cannotStreamError(modelId);
  }

  /** A model served on /v1/images/edits: 404 if unknown, 400 if it does not edit. */
  editModel(modelId: string): RegisteredModel<ImageEditProvider> {
    const model = this.editModels.get(modelId);
    if (model) return model;
    if (!this.models.has(modelId)) this.refuse(modelId, 'images');
    throw new GatewayError(
      ErrorCode.InvalidRequest,
      `The model '${modelId}' does not edit images; GET /v1/models lists the models with capabilities.edits.`,
      { param: 'model' },
    );
  }

  /** A model served on /v1/images/edits with `stream: true` (validation has refused the others). */
  editStreamModel(modelId: string): RegisteredModel<ImageEditStreamProvider> {
    const model = this.editStreamModels.get(modelId);
    if (model) return model;
    this.editModel(modelId);
    throw cannotStreamError(modelId);
  }

  /** A model served on /v1/chat/completions: 404 if unknown, 400 if it is not served there. */
  chatModel(modelId: string): RegisteredModel<ChatProvider> {
    return this.chatModels.get(modelId) ?? this.refuse(modelId, 'chat');
  }

  /** Why a model is not in an endpoint's map: unknown (404), or served on other endpoints (400). */
  private refuse(modelId: string, endpoint: EndpointKind): never {
    const model = this.models.get(modelId);
    if (!model) {
      throw new GatewayError(
        ErrorCode.ModelNotFound,
        `The model '${modelId}' does not exist. GET /v1/models lists the models.`,
        { param: 'model' },
      );
    }
    const serves = model.definition.endpoints.map((e) => PATHS[e]).join(', ');
    throw new GatewayError(
      ErrorCode.InvalidRequest,
      `The model '${modelId}' is not served on ${PATHS[endpoint]}; it serves ${serves}.`,
      { param: 'model' },
    );
  }

  /** 503 naming the missing settings when the model has no usable route. */
  assertAvailable(model: RegisteredModel): void {
    if (model.routes.length === 0) {
      throw new GatewayError(
        ErrorCode.ModelUnavailable,
        `The model '${model.definition.id}' is not configured on this server: ${model.unavailableReason}.`,
        { param: 'model' },
      );
    }
  }

  /**
   * The usable routes in the order to try them: one drawn by weight among the primary routes,
   * then the other primaries by weight, then the fallback routes by weight.
   */
  routeOrder(model: RegisteredModel): RegisteredRoute[] {
    this.assertAvailable(model);
    if (model.routes.length === 1) return model.routes;
    const primaries = model.routes.filter((route) => !route.fallback);
    const drawFrom = primaries.length > 0 ? primaries : model.routes;
    let ticket = Math.random() * drawFrom.reduce((sum, route) => sum + route.weight, 0);
    const first = drawFrom.find((route) => (ticket -= route.weight) < 0) ?? drawFrom.at(-1)!;
    const byWeight = (a: RegisteredRoute, b: RegisteredRoute) =>
      Number(a.fallback) - Number(b.fallback) || b.weight - a.weight;
    return [first, ...model.routes.filter((route) => route !== first).sort(byWeight)];
  }
}
