/** All provider adapters, one per provider kind. */
export const PROVIDER_ADAPTERS = Symbol('PROVIDER_ADAPTERS');
