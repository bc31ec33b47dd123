import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';

export type UrlCheck = 'valid' | 'expired' | 'bad_signature';

/**
 * HMAC-SHA256 signed, expiring image URLs. The secret is `URL_SIGNING_SECRET`, or a random one
 * persisted in the data dir on first start (so URLs survive a restart of a single instance).
 */
@Injectable()
export class ImageUrlSigner {
  private readonly secret: Buffer;

  constructor(private readonly config: AppConfig) {
    this.secret = Buffer.from(config.storage.signingSecret ?? readOrCreateSecret(config.dataDir));
  }

  /** `{PUBLIC_BASE_URL}/v1/images/files/{file}?expires=…&sig=…` */
  urlFor(file: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.config.storage.urlTtlSeconds;
    return `${this.config.http.publicBaseUrl}/v1/images/files/${file}?expires=${expires}&sig=${this.sign(file, expires)}`;
  }

  check(file: string, expires: number, signature: string, now = Date.now()): UrlCheck {
    const expected = Buffer.from(this.sign(file, expires));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad_signature';
    return expires * 1000 <= now ? 'expired' : 'valid';
  }

  private sign(file: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${file}\n${expires}`).digest('base64url');
  }
}

function readOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, 'url-signing.secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process sharing the data dir wrote it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} holds no usable secret; delete it or set URL_SIGNING_SECRET`);
  return secret;
}
