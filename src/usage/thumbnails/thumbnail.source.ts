import type { JsonText } from '../../common/json/raw-json.js';
import type { InlineImage } from '../../providers/chat-provider.interface.js';
import type { ImagePayload } from '../../providers/image-provider.interface.js';

/**
 * A generated image handed to `ThumbnailRecorder`, in whatever form the answer already holds it:
 * nothing is decoded or copied while the request runs, only by the recorder's workers.
 */
export interface ThumbnailSource {
  /** About how many bytes the image is (for the recorder's queue bound); cheap, read only when previews are on. */
  size(): number;
  /** The image's bytes (decoded from base64 when that is the form held): read off the request path. */
  bytes(): Buffer;
}

/**
 * The images of an images answer. `held` is the form the answer already made of them, so `size()`
 * costs nothing: `bytes` for a `url` answer (they went to the image store), `base64` for a
 * `b64_json` answer and for the completed events of a stream.
 */
export function payloadSources(images: readonly ImagePayload[], held: 'bytes' | 'base64'): ThumbnailSource[] {
  return images.map((image) => ({
    size: () => (held === 'bytes' ? image.bytes().length : base64Size(image.base64())),
    bytes: () => image.bytes(),
  }));
}

/** The images of a chat answer (data URLs' base64, as the upstream sent it), in the order of its choices. */
export function inlineSources(images: readonly InlineImage[]): ThumbnailSource[] {
  return images.map(({ base64 }) => ({
    size: () => base64Size(base64),
    bytes: () => (typeof base64 === 'string' ? Buffer.from(base64, 'base64') : base64.decodeBase64()),
  }));
}

function base64Size(text: JsonText): number {
  return Math.floor((text.length * 3) / 4);
}
