import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { LocalObjectStorage } from './local.storage.js';

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
});
