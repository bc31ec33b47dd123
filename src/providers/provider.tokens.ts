/** All `ImageProvider` adapters, one per provider kind. */
export const IMAGE_PROVIDERS = Symbol('IMAGE_PROVIDERS');
