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
    // A payload may keep its base64 and its bytes both: counted as both (bytes × 7/3), so that the
    // queue's bound is what the queue keeps alive.
    size: () => (held === 'bytes' ? Math.ceil((image.bytes().length * 7) / 3) : heldSize(image.base64())),
    bytes: () => image.bytes(),
  }));
}

/** The images of a chat answer (data URLs' base64, as the upstream sent it), in the order of its choices. */
export function inlineSources(images: readonly InlineImage[]): ThumbnailSource[] {
  return images.map(({ base64 }) => ({
    size: () => heldSize(base64),
    bytes: () => (typeof base64 === 'string' ? Buffer.from(base64, 'base64') : base64.decodeBase64()),
  }));
}

/** The base64 text held, plus the bytes it decodes to (made by the worker while it holds the text). */
function heldSize(text: JsonText): number {
  return text.length + Math.floor((text.length * 3) / 4);
}
