import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import { LocalObjectStorage } from './local.storage.js';
import type { ImageBody } from './object-storage.interface.js';

/** A streamed body of these slices, announcing `size` (their total unless told), that fails with `error` after them. */
function streamed(slices: Buffer[], size = Buffer.concat(slices).length, error?: Error): ImageBody {
  return {
    size,
    async *chunks() {
      for (const slice of slices) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield slice;
      }
      if (error) throw error;
    },
  };
}

describe(LocalObjectStorage.name, () => {
  let dir: string;
  let sut: LocalObjectStorage;

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'easel-storage-')), 'images');
    sut = new LocalObjectStorage(dir, 60_000);
  });

  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('stores and reads back bytes, creating its directory', async () => {
    await sut.put('abcdefabcdefabcdef.png', Buffer.from('png bytes'));

    const stored = await sut.get('abcdefabcdefabcdef.png');
    expect(stored?.size).toBe(9);
    expect(await text(stored!.body)).toBe('png bytes');
    expect(await readdir(dir)).toEqual(['abcdefabcdefabcdef.png']);
  });

  it('answers undefined for missing files and for keys that try to leave the directory', async () => {
    await expect(sut.get('missing.png')).resolves.toBeUndefined();
    await expect(sut.get('../secret.png')).resolves.toBeUndefined();
    await expect(sut.put('../escape.png', Buffer.from('x'))).rejects.toThrow(/unsafe/);
  });

  it('sweeps files older than the URL lifetime and keeps fresh ones', async () => {
    await sut.put('old0000000000000000.png', Buffer.from('old'));
    await sut.put('new0000000000000000.png', Buffer.from('new'));
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await utimes(join(dir, 'old0000000000000000.png'), twoMinutesAgo, twoMinutesAgo);

    await expect(sut.sweep()).resolves.toBe(1);

    expect(await readdir(dir)).toEqual(['new0000000000000000.png']);
  });

  it('sweeps nothing before the first image created its directory', async () => {
    await expect(sut.sweep()).resolves.toBe(0);
  });

  describe('with a streamed body', () => {
    const KEY = 'streamedstreamed00.png';
    // Several slices, one larger than a write stream's buffer, so the file is written a slice at a time.
    const slices = [randomBytes(1), randomBytes(70_000), randomBytes(3), randomBytes(20_000)];
    const whole = Buffer.concat(slices);

    it('stores the bytes of every slice, in order', async () => {
      await sut.put(KEY, streamed(slices));

      const stored = await sut.get(KEY);
      expect(stored?.size).toBe(whole.length);
      expect(await buffer(stored!.body)).toEqual(whole);
      expect(await readdir(dir)).toEqual([KEY]);
    });

    it.each([
      ['fewer', whole.length + 1],
      ['more', whole.length - 1],
    ])(
      'refuses a source that yields %s bytes than announced, leaving neither the file nor its temp file',
      async (_, size) => {
        await expect(sut.put(KEY, streamed(slices, size))).rejects.toThrow(
          `the image was ${whole.length} bytes, not the ${size} announced`,
        );

        expect(await readdir(dir)).toEqual([]);
        await expect(sut.get(KEY)).resolves.toBeUndefined();
      },
    );

    it('rejects with the error of a source that fails mid-way, leaving neither the file nor its temp file', async () => {
      const failure = new Error('upstream went away');

      await expect(sut.put(KEY, streamed(slices.slice(0, 2), whole.length, failure))).rejects.toBe(failure);

      expect(await readdir(dir)).toEqual([]);
      await expect(sut.get(KEY)).resolves.toBeUndefined();
    });

    it('rejects with the error of a source that fails before its first byte, leaving nothing', async () => {
      const failure = new Error('upstream refused');

      await expect(sut.put(KEY, streamed([], whole.length, failure))).rejects.toBe(failure);

      expect(await readdir(dir)).toEqual([]);
    });

    it('keeps the image already stored under a key when a streamed rewrite of it fails', async () => {
      await sut.put(KEY, Buffer.from('first image'));

      await expect(sut.put(KEY, streamed(slices, whole.length + 1))).rejects.toThrow(/announced/);

      expect(await text((await sut.get(KEY))!.body)).toBe('first image');
      expect(await readdir(dir)).toEqual([KEY]);
    });
  });
});
