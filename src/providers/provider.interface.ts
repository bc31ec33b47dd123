import type { ModelDefinition, ProviderKind, RouteDefinition } from '../config/models.catalogue.js';

/*
 * What every adapter is. What it serves is in the endpoint's own contract:
 * `image-provider.interface.ts` (images) and `chat-provider.interface.ts` (chat).
 */

/** Where one catalogue route sends requests, resolved once at boot; `missing` names absent settings. */
export interface ResolvedTarget<T> {
  target?: T;
  missing: string[];
}

/** One upstream kind. Adapters map our domain to the vendor's wire format and back; nothing else. */
export interface RoutedProvider<T = unknown> {
  readonly kind: ProviderKind;
  resolveRoute(model: ModelDefinition, route: RouteDefinition): ResolvedTarget<T>;
}
