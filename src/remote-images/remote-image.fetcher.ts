import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, type Dispatcher, errors as undiciErrors, request } from 'undici';
import { InvalidRequestError } from '../common/errors/gateway.error.js';
import { formatBytes } from '../common/http/route-policy.js';
import { AddressPolicy } from '../common/net/address.policy.js';
import { AppConfig } from '../config/app.config.js';
import { inspectImage } from '../images/edits/image-inspector.js';
import { parseRemoteImageUrl } from './remote-image-url.js';

/** An image a client named by URL; `param` is where it named it, for the errors. */
export interface RemoteImageRef {
  url: string;
  param: string;
}

/** A fetched image: its bytes, and the type its host declared and its bytes confirmed. */
export interface FetchedImage {
  mimeType: string;
  bytes: Buffer;
}

const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const REFUSED_ADDRESS =
  'a private, loopback or otherwise reserved address; Easel does not fetch images from such addresses';

/** DNS answered with an address the policy refuses; raised inside connect, before a byte is sent. */
class RefusedAddressError extends Error {
  readonly code = 'EASEL_REFUSED_ADDRESS';

  constructor() {
    super('the host name resolves to a refused address');
    this.name = 'RefusedAddressError';
  }
}

/**
 * Fetches the `http(s)` images of chat input and of JSON image edits (`REMOTE_IMAGE_URLS=true`) without letting a client
 * reach what only Easel can: every address a connection goes to must pass `AddressPolicy`. IP
 * literals are checked before the request (Node connects to them without a lookup); host names
 * are checked by the agent's own `lookup`, on the very addresses it then connects to, so a DNS
 * answer that changes between a check and the connection (rebinding) cannot slip through.
 * Redirects are followed by hand, each hop checked again. Every failure is a 400 on the image's
 * path; the whole fetch of one image is bounded by `REMOTE_IMAGE_TIMEOUT_MS`.
 */
@Injectable()
export class RemoteImageFetcher implements OnApplicationShutdown {
  private readonly policy: AddressPolicy;
  private readonly agent: Agent;

  constructor(private readonly config: AppConfig) {
    this.policy = new AddressPolicy(config.remoteImages.allowedNetworks);
    this.agent = new Agent({
      connect: { lookup: this.checkedLookup, timeout: config.remoteImages.timeoutMs },
      // No cap per host: images on one CDN would otherwise queue behind each other; the fetches
      // in flight are bounded by the requests Easel serves (and their rate limits).
      keepAliveTimeout: 10_000,
    });
  }

  /** `REMOTE_IMAGE_URLS`: whether input images may be named by URL at all. */
  get enabled(): boolean {
    return this.config.remoteImages.enabled;
  }

  /**
   * The images of one request, fetched concurrently, in order, each at most `maxBytes`; the first
   * failure cancels the rest.
   */
  async fetchAll(images: readonly RemoteImageRef[], maxBytes: number, signal: AbortSignal): Promise<FetchedImage[]> {
    if (images.length === 0) return [];
    const siblings = new AbortController();
    const shared = AbortSignal.any([signal, siblings.signal]);
    try {
      return await Promise.all(images.map((image) => this.fetchOne(image, maxBytes, shared)));
    } finally {
      siblings.abort();
    }
  }

  /** One image as mime type and base64, or a 400 (`InvalidRequestError`) whose `param` is the image's path. */
  private async fetchOne(image: RemoteImageRef, maxBytes: number, signal: AbortSignal): Promise<FetchedImage> {
    const { timeoutMs } = this.config.remoteImages;
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = AbortSignal.any([signal, deadline]);
    try {
      return await this.follow(image, maxBytes, combined);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof InvalidRequestError) throw error;
      if (deadline.aborted || isTimeout(error)) {
        throw new InvalidRequestError(`The image did not arrive within ${timeoutMs} ms.`, image.param);
      }
      throw new InvalidRequestError(describeNetworkError(error), image.param);
    }
  }

  private async follow(image: RemoteImageRef, maxBytes: number, signal: AbortSignal): Promise<FetchedImage> {
    let url = parseRemoteImageUrl(image.url, image.param);
    for (let redirects = 0; ; redirects++) {
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host) !== 0 && !this.policy.permits(host)) {
        throw new InvalidRequestError(
          `${redirects === 0 ? "The image URL's host is" : 'The image URL redirects to'} ${REFUSED_ADDRESS}.`,
          image.param,
        );
      }
      const response = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        // Nothing of the client's request is passed on; identity, so the signature check sees the image.
        headers: {
          accept: 'image/png, image/jpeg, image/webp',
          'accept-encoding': 'identity',
          'user-agent': 'Easel image fetcher',
        },
        signal,
        headersTimeout: this.config.remoteImages.timeoutMs,
        bodyTimeout: this.config.remoteImages.timeoutMs,
      });
      if (!REDIRECT_STATUSES.has(response.statusCode)) return this.readImage(response, image.param, maxBytes);
      await response.body.dump({ limit: 64 * 1024, signal });
      if (redirects === MAX_REDIRECTS) {
        throw new InvalidRequestError(`The image URL redirects more than ${MAX_REDIRECTS} times.`, image.param);
      }
      const location = firstHeader(response.headers.location);
      if (!location) {
        throw new InvalidRequestError(
          `The image host answered HTTP ${response.statusCode} without a Location.`,
          image.param,
        );
      }
      url = parseRemoteImageUrl(location, image.param, url);
    }
  }

  private async readImage(response: Dispatcher.ResponseData, param: string, maxBytes: number): Promise<FetchedImage> {
    const { statusCode, headers, body } = response;
    try {
      if (statusCode < 200 || statusCode >= 300)
        throw new InvalidRequestError(`The image host answered HTTP ${statusCode}.`, param);
      const mimeType = firstHeader(headers['content-type'])?.split(';')[0]!.trim().toLowerCase() ?? '';
      if (!IMAGE_TYPES.has(mimeType)) {
        const sent = /^[\w.+-]{1,64}\/[\w.+-]{1,64}$/.test(mimeType) ? mimeType : 'no usable content type';
        throw new InvalidRequestError(`The image host sent ${sent}, not a PNG, JPEG or WebP image.`, param);
      }
      const tooLarge = () =>
        new InvalidRequestError(
          `The image at this URL is larger than ${formatBytes(maxBytes)}, the limit for an input image.`,
          param,
        );
      if (Number(firstHeader(headers['content-length']) ?? 0) > maxBytes) throw tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) throw tooLarge();
        chunks.push(chunk);
      }
      const bytes = Buffer.concat(chunks, size);
      if (inspectImage(bytes)?.mimeType !== mimeType) {
        throw new InvalidRequestError(
          `The image host says ${mimeType}, but the bytes it sent are not such an image.`,
          param,
        );
      }
      return { mimeType, bytes };
    } finally {
      // Unread rest of a refused body: stop the transfer rather than download it.
      if (!body.readableEnded) body.destroy();
    }
  }

  /** `dns.lookup`, refusing the connection when any address of the host is not permitted. */
  private readonly checkedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      if (addresses.length === 0)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (addresses.some(({ address }) => !this.policy.permits(address)))
        return callback(new RefusedAddressError(), '');
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  /** Requests in flight have drained by now (HttpDrain). */
  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy();
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isTimeout(error: unknown): boolean {
  return (
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  );
}

/** Why the image could not be fetched, in words a client can act on; never an address. */
function describeNetworkError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    // One answer for both, so that a client cannot learn which internal host names exist.
    case 'EASEL_REFUSED_ADDRESS':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENODATA':
      return 'The image host name does not resolve to a public address.';
    case 'ECONNREFUSED':
      return 'The image host refused the connection.';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'The image host closed the connection before sending the image.';
    default:
      return `Could not fetch the image${typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : ''}.`;
  }
}
