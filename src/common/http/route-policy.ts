/**
 * What the HTTP edge decides per route before a body is read: whether the route needs a key (then
 * a request without a valid one is answered 401 before its body is read) and how large a body it
 * takes (Fastify's per-route `bodyLimit`). `ApiKeyGuard` stays the authority on access (public,
 * admin, API key); this is the cheap check in front of it, by URL, failing closed: a route under
 * /v1 or /admin needs a key unless it is listed public here (and marked `@Public()`).
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { UploadLimits } from '../../config/app.config.js';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';

const KB = 1024;
const MB = 1024 * KB;

export interface RoutePolicy {
  /** A valid key is required before the body is read (/v1, /admin). */
  needsKey: boolean;
  /** The largest body the route takes, in bytes. */
  bodyLimit: number;
}

/** The one route that also takes `multipart/form-data` (read by `MultipartFormReader`, not by Fastify). */
export const IMAGE_EDITS_PATH = '/v1/images/edits';
/** Room for the fields and framing around an edit's images (a 32000-character prompt, JSON-escaped). */
const EDIT_FIELDS_ALLOWANCE = 1 * MB;

/** Routes under /v1 that anyone may call: signed image URLs carry their own signature. */
const PUBLIC_V1_PREFIXES = ['/v1/images/files/'];

/**
 * Body limits, in bytes (the default covers every other route, which takes no body or a small one):
 * - chat: three input images (the catalogue's default `max_input_images`) of up to 7 MB each as
 *   base64 data URLs (3 × 9.4 MB) plus the text of up to 100 messages;
 * - image generations: a 32000-character prompt as JSON, escaped, is at most ~200 KB;
 * - admin routes and everything else: small JSON objects.
 */
export const BODY_LIMITS = {
  chat: 32 * MB,
  imageGenerations: 1 * MB,
  default: 64 * KB,
} as const;

const BODY_LIMIT_BY_ROUTE: Record<string, number> = {
  '/v1/chat/completions': BODY_LIMITS.chat,
  '/v1/images/generations': BODY_LIMITS.imageGenerations,
};

/**
 * The policy of a route, by its path (a route pattern such as `/admin/keys/:id`, or a request path).
 * Image edits: a JSON body carries its images as base64 data URLs (4 bytes per 3), so it may be
 * UPLOAD_MAX_TOTAL_BYTES as base64 plus the fields; a multipart body's limits are the reader's.
 */
export function routePolicy(path: string, uploads?: UploadLimits): RoutePolicy {
  const bodyLimit =
    path === IMAGE_EDITS_PATH && uploads
      ? Math.ceil(uploads.maxTotalBytes / 3) * 4 + EDIT_FIELDS_ALLOWANCE
      : (BODY_LIMIT_BY_ROUTE[path] ?? BODY_LIMITS.default);
  return { needsKey: needsKey(path), bodyLimit };
}

function needsKey(path: string): boolean {
  const underApi = path === '/v1' || path.startsWith('/v1/') || path === '/admin' || path.startsWith('/admin/');
  return underApi && !PUBLIC_V1_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/**
 * Every Easel route takes JSON or nothing, and image edits multipart forms too: a body of any other
 * type (a url-encoded form, as `curl -d` sends without `-H`; none at all; text) is refused with 415
 * before it is read, saying what to send. GET and HEAD bodies are never read, so they are not checked.
 */
export function assertBodyType(method: string, path: string, headers: IncomingHttpHeaders): void {
  if (method === 'GET' || method === 'HEAD') return;
  const length = headers['content-length'];
  const hasBody = headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return;
  const type = headers['content-type'];
  const mediaType = type?.split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'application/json') return;
  const takesForms = path === IMAGE_EDITS_PATH;
  if (takesForms && mediaType === 'multipart/form-data') return;
  const send = takesForms
    ? 'send the body as multipart/form-data (curl -F) or as JSON with the header "Content-Type: application/json"'
    : 'send the body as JSON with the header "Content-Type: application/json"';
  throw new GatewayError(
    ErrorCode.UnsupportedMediaType,
    type === undefined
      ? `The request has a body but no Content-Type: ${send}.`
      : `Content-Type ${JSON.stringify(mediaType!.slice(0, 100))} is not accepted: ${send}.`,
  );
}

/** `1 MB`, `64 KB`: a limit as people read it. */
export function formatBytes(bytes: number): string {
  if (bytes >= MB && bytes % MB === 0) return `${bytes / MB} MB`;
  if (bytes >= KB && bytes % KB === 0) return `${bytes / KB} KB`;
  return `${bytes} bytes`;
}
