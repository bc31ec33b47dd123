import { createHash, type Hash } from 'node:crypto';

const KEY = Buffer.from('"b64_json":"');
const QUOTE = 0x22;
const BACKSLASH = /\\/g;

/** One image found in an answer: the SHA-256 of its decoded bytes, and how many there were. */
export interface ImageDigest {
  sha256: string;
  bytes: number;
}

/**
 * The images of an OpenAI images answer (`{"data":[{"b64_json":"…"}]}`), decoded and hashed as the
 * body's chunks arrive, so that a client reading hundreds of large answers at once holds none of
 * them: each `"b64_json":"` value is base64-decoded four characters at a time into a SHA-256
 * (a JSON-escaped `\/` counts as `/`). A value written with spaces around its colon is not found:
 * no gateway benched writes one.
 */
export class B64JsonDigester {
  private readonly digests: ImageDigest[] = [];
  /** The image being decoded, or none while looking for the next key. */
  private current?: { hash: Hash; bytes: number };
  /** Bytes carried over to the next chunk: a possible start of the key, or base64 short of 4 characters. */
  private carry = Buffer.alloc(0);

  write(chunk: Buffer): void {
    let data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    for (;;) {
      if (!this.current) {
        const at = data.indexOf(KEY);
        if (at < 0) {
          this.carry = Buffer.from(data.subarray(Math.max(0, data.length - KEY.length + 1)));
          return;
        }
        this.current = { hash: createHash('sha256'), bytes: 0 };
        data = data.subarray(at + KEY.length);
      }
      const end = data.indexOf(QUOTE);
      const text = data.toString('latin1', 0, end < 0 ? data.length : end).replace(BACKSLASH, '');
      const whole = end < 0 ? text.length - (text.length % 4) : text.length;
      const decoded = Buffer.from(text.slice(0, whole), 'base64');
      this.current.hash.update(decoded);
      this.current.bytes += decoded.length;
      if (end < 0) {
        this.carry = Buffer.from(text.slice(whole), 'latin1');
        return;
      }
      this.digests.push({ sha256: this.current.hash.digest('hex'), bytes: this.current.bytes });
      this.current = undefined;
      data = data.subarray(end + 1);
    }
  }

  /** The images found, in order; one whose value never ended is not among them. */
  end(): ImageDigest[] {
    return this.digests;
  }
}
