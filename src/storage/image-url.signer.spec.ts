import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/app.config.js';
import { ImageUrlSigner } from './image-url.signer.js';

const SECRET = 'an-url-signing-secret-of-32-chars-or-more';
const NOW = Date.parse('2030-01-01T00:00:00Z');
const FILE = '0190b7e4-3c1a-7f00-8000-000000000001.png';

function signer(env: Record<string, string> = {}): ImageUrlSigner {
  return new ImageUrlSigner(
    AppConfig.fromEnv({
      URL_SIGNING_SECRET: SECRET,
      PUBLIC_BASE_URL: 'https://easel.example.com',
      IMAGE_URL_TTL_SECONDS: '600',
      ...env,
    }),
  );
}

function parts(url: string): { file: string; expires: number; sig: string } {
  const parsed = new URL(url);
  return {
    file: parsed.pathname.replace('/v1/images/files/', ''),
    expires: Number(parsed.searchParams.get('expires')),
    sig: parsed.searchParams.get('sig')!,
  };
}

describe(ImageUrlSigner.name, () => {
  let sut: ImageUrlSigner;

  beforeEach(() => {
    sut = signer();
  });

  describe('urlFor', () => {
    it('builds {PUBLIC_BASE_URL}/v1/images/files/{file}?expires=…&sig=… expiring after the TTL', () => {
      const url = sut.urlFor(FILE, NOW);

      expect(url).toMatch(
        new RegExp(
          `^https://easel\\.example\\.com/v1/images/files/${FILE.replace(/\./g, '\\.')}\\?expires=\\d+&sig=[A-Za-z0-9_-]{43}$`,
        ),
      );
      expect(parts(url).expires).toBe(NOW / 1000 + 600);
    });

    it('rounds the current time down to whole seconds', () => {
      expect(parts(sut.urlFor(FILE, NOW + 999)).expires).toBe(NOW / 1000 + 600);
    });

    it('is stable for the same file and time', () => {
      expect(sut.urlFor(FILE, NOW)).toBe(sut.urlFor(FILE, NOW));
    });
  });

  describe('check', () => {
    it('accepts a URL it signed, before it expires', () => {
      const { file, expires, sig } = parts(sut.urlFor(FILE, NOW));

      expect(sut.check(file, expires, sig, NOW)).toBe('valid');
      expect(sut.check(file, expires, sig, expires * 1000 - 1)).toBe('valid');
    });

    it('reports expired from the expiry second on', () => {
      const { file, expires, sig } = parts(sut.urlFor(FILE, NOW));

      expect(sut.check(file, expires, sig, expires * 1000)).toBe('expired');
      expect(sut.check(file, expires, sig, expires * 1000 + 60_000)).toBe('expired');
    });

    it('rejects a tampered file name', () => {
      const { expires, sig } = parts(sut.urlFor(FILE, NOW));

      expect(sut.check(FILE.replace('001.png', '002.png'), expires, sig, NOW)).toBe('bad_signature');
    });

    it('rejects a tampered expiry, even a later one', () => {
      const { file, expires, sig } = parts(sut.urlFor(FILE, NOW));

      expect(sut.check(file, expires + 3600, sig, NOW)).toBe('bad_signature');
    });

    it('checks the signature before the expiry', () => {
      const { file, expires } = parts(sut.urlFor(FILE, NOW));

      expect(sut.check(file, expires, 'A'.repeat(43), expires * 1000 + 1)).toBe('bad_signature');
    });

    it.each(['', 'short', 'x'.repeat(100)])('rejects a signature of another length (%p) without throwing', (sig) => {
      const { file, expires } = parts(sut.urlFor(FILE, NOW));

      expect(sut.check(file, expires, sig, NOW)).toBe('bad_signature');
    });

    it('rejects a URL signed with another secret', () => {
      const other = signer({ URL_SIGNING_SECRET: 'a-different-secret-that-is-32-chars-long' });
      const { file, expires, sig } = parts(other.urlFor(FILE, NOW));

      expect(sut.check(file, expires, sig, NOW)).toBe('bad_signature');
    });
  });

  describe('without URL_SIGNING_SECRET', () => {
    let dataDir: string;

    beforeEach(() => {
      dataDir = join(mkdtempSync(join(tmpdir(), 'easel-signer-')), 'nested', 'data');
    });

    afterEach(() => {
      rmSync(join(dataDir, '..', '..'), { recursive: true, force: true });
    });

    it('persists a random secret in EASEL_DATA_DIR so that two signers agree', () => {
      const first = signer({ URL_SIGNING_SECRET: '', EASEL_DATA_DIR: dataDir });
      const secretFile = join(dataDir, 'url-signing.secret');

      expect(existsSync(secretFile)).toBe(true);
      expect(readFileSync(secretFile, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);

      const second = signer({ URL_SIGNING_SECRET: '', EASEL_DATA_DIR: dataDir });
      const { file, expires, sig } = parts(first.urlFor(FILE, NOW));

      expect(second.check(file, expires, sig, NOW)).toBe('valid');
      expect(second.urlFor(FILE, NOW)).toBe(first.urlFor(FILE, NOW));
    });

    it('does not agree with a signer that uses another data dir', () => {
      const otherDir = mkdtempSync(join(tmpdir(), 'easel-signer-other-'));
      try {
        const first = signer({ URL_SIGNING_SECRET: '', EASEL_DATA_DIR: dataDir });
        const other = signer({ URL_SIGNING_SECRET: '', EASEL_DATA_DIR: otherDir });
        const { file, expires, sig } = parts(first.urlFor(FILE, NOW));

        expect(other.check(file, expires, sig, NOW)).toBe('bad_signature');
      } finally {
        rmSync(otherDir, { recursive: true, force: true });
      }
    });
  });
});
