/**
 * The `endpoint` a usage record carries: which /v1 route it counts (`request-lifecycle.ts` maps the
 * routes to these). Reports filter and group by it; a new route adds its value here.
 */
export const USAGE_ENDPOINTS = ['images', 'images.edits', 'chat', 'models', 'usage'] as const;
export type UsageEndpoint = (typeof USAGE_ENDPOINTS)[number];

/** A usage record's `status`: `error` for an answer of 400 or more, or a stream that ended with an error event. */
export const USAGE_STATUSES = ['success', 'error'] as const;
export type UsageStatus = (typeof USAGE_STATUSES)[number];
