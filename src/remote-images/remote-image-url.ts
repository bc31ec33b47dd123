import { InvalidRequestError } from '../common/errors/gateway.error.js';

/**
 * An input image as a base64 data URL (chat's `image_url.url`, a JSON edit's `image_url`), once its
 * whitespace is removed: the MIME type (PNG, JPEG or WebP) and the base64.
 */
export const IMAGE_DATA_URL = /^data:(image\/(?:png|jpeg|webp));base64,([A-Za-z0-9+/]+={0,2})$/;

/** Longer URLs are refused before anything is fetched; no image host needs more. */
const MAX_URL_LENGTH = 8192;

/**
 * A URL Easel may fetch an input image from, or a 400 on `param`: `http:` or `https:` only (no
 * `file:`, `ftp:`, `gopher:`), and no user name or password, which Easel would otherwise send to
 * whoever the host is. `base` is the URL whose `Location` header is being followed. Whether the
 * host is an address Easel may reach is `AddressPolicy`'s decision, at connect time.
 */
export function parseRemoteImageUrl(raw: string, param: string, base?: URL): URL {
  const what = base ? 'The URL the image host redirected to' : 'An image URL';
  if (raw.length > MAX_URL_LENGTH)
    throw new InvalidRequestError(`${what} is longer than ${MAX_URL_LENGTH} characters.`, param);
  const url = URL.parse(raw, base?.href);
  if (!url) throw new InvalidRequestError(`${what} is not a valid URL.`, param);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidRequestError(`${what} must be http:// or https://.`, param);
  if (url.username !== '' || url.password !== '') {
    throw new InvalidRequestError(`${what} must not contain a user name or password.`, param);
  }
  return url;
}
