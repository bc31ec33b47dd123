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
  /**
   * Keeps the image readable until the returned function is called: an image spooled to a file
   * (`ByteSpool`) is otherwise let go of when its request ends, which may be before a worker reads it.
   */
  hold?(): () => void;
}

/** The images of an images answer (base64 as the upstream sent it, or bytes), decoded by the worker. */
export function payloadSources(images: readonly ImagePayload[]): ThumbnailSource[] {
  return images.map((image) => ({
    // Counted as the base64 and the bytes it decodes to (bytes × 7/3), so that the queue's bound is
    // what the queue keeps alive (a spooled image's base64 is in a file: counted all the same).
    size: () => Math.ceil((image.byteLength * 7) / 3),
    bytes: () => image.bytes(),
    hold: () => image.hold(),
  }));
}

/** The images of a chat answer (data URLs' base64, as the upstream sent it), in the order of its choices. */
export function inlineSources(images: readonly InlineImage[]): ThumbnailSource[] {
  return images.map(({ base64 }) => ({
    size: () => heldSize(base64),
    bytes: () => (typeof base64 === 'string' ? Buffer.from(base64, 'base64') : base64.decodeBase64()),
    hold: () => (typeof base64 === 'string' ? () => undefined : base64.hold()),
  }));
}

/** The base64 text held, plus the bytes it decodes to (made by the worker while it holds the text). */
function heldSize(text: JsonText): number {
  return text.length + Math.floor((text.length * 3) / 4);
}
