/** The `ThumbnailLimits` of `ThumbnailRecorder` (bound to `DEFAULT_THUMBNAIL_LIMITS` by `UsageThumbnailsModule`). */
export const THUMBNAIL_LIMITS = Symbol('THUMBNAIL_LIMITS');
