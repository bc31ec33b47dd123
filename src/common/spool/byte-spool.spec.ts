import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { close, closeSync, constants, open as openFifo, openSync, readdirSync, unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestResources, runWithRequestResources } from '../http/request-resources.js';
import { ByteSpool, type HeldPart } from './byte-spool.js';
import { SpooledFile } from './spooled-file.js';

let dir: string;

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'easel-spool-spec-')));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return Buffer.concat(all);
}

/** The files this process has open under `dir`, as the kernel names them (Linux: `/proc/self/fd`). */
async function openFilesUnder(folder: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(`${folder}/`));
}

/** The descriptors of the files this process has open under `dir`. */
async function descriptorsUnder(folder: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const found: string[] = [];
  for (const fd of fds) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(`${folder}/`)) found.push(fd);
  }
  return found;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Keeps every thread of libuv's pool (`UV_THREADPOOL_SIZE`, 4 unless set) busy opening a FIFO
 * under `folder`, an open that blocks until `free` opens its other end: the file operations asked
 * for meanwhile wait in the pool's queue, in order. (Node runs file operations there: libuv hands
 * them to io_uring only on Node 20 with `UV_USE_IO_URING=1`.)
 */
function occupyThreadPool(folder: string): { free: () => Promise<void> } {
  const threads = Math.min(1024, Math.max(1, Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4));
  const fifos = Array.from({ length: threads }, (_, index) => join(folder, `fifo-${index}`));
  for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
  const opened = fifos.map(
    (fifo) =>
      new Promise<void>((resolve) =>
        openFifo(fifo, 'r', (error, fd) => {
          if (!error) close(fd, () => resolve());
          else resolve();
        }),
      ),
  );
  return {
    async free() {
      for (const fifo of fifos) {
        // Refused (ENXIO) until its reader's thread has started its open.
        for (;;) {
          try {
            closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
            break;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
            await nextTurn();
          }
        }
      }
      await Promise.all(opened);
    },
  };
}

function onlyFile(parts: readonly HeldPart[]): SpooledFile {
  expect(parts).toHaveLength(1);
  expect(parts[0]).toBeInstanceOf(SpooledFile);
  return parts[0] as SpooledFile;
}

describe(SpooledFile.name, () => {
  it('creates its file in dir, mode 0600, and unlinks it at once', async () => {
    const descriptorsBefore = await descriptorsUnder(dir);

    const file = await SpooledFile.create(dir);

    try {
      expect(await readdir(dir)).toEqual([]);
      const open = await openFilesUnder(dir);
      expect(open).toHaveLength(1);
      expect(open[0]).toMatch(new RegExp(`^${dir}/\\.spool-[A-Za-z0-9_-]+ \\(deleted\\)$`));
      const [fd] = (await descriptorsUnder(dir)).filter((one) => !descriptorsBefore.includes(one));
      expect((await stat(`/proc/self/fd/${fd}`)).mode & 0o777).toBe(0o600);
    } finally {
      file.release();
    }
  });

  it('gives back every appended byte in the order of the calls, whole or in ranges', async () => {
    const file = await SpooledFile.create(dir);
    const first = randomBytes(1000);
    const second = randomBytes(300_000);
    const third = randomBytes(7);

    // Not awaited one by one: the order of the calls is the order in the file.
    const writes = [
      file.append([first, second.subarray(0, 100)]),
      file.append([second.subarray(100)]),
      file.append([third]),
    ];
    expect(file.length).toBe(301_007);
    await Promise.all(writes);

    const all = Buffer.concat([first, second, third]);
    expect(file.readAll().equals(all)).toBe(true);
    expect((await collect(file.chunks())).equals(all)).toBe(true);
    expect((await collect(file.chunks(990, 1010))).equals(all.subarray(990, 1010))).toBe(true);
    expect((await collect(file.chunks(5, 290_000))).equals(all.subarray(5, 290_000))).toBe(true);
    expect((await collect(file.chunks(301_000))).equals(all.subarray(301_000))).toBe(true);
    expect(await collect(file.chunks(10, 10))).toHaveLength(0);
    file.release();
  });

  it('reads the last bytes, fewer when the file is shorter', async () => {
    const file = await SpooledFile.create(dir);
    await file.append([Buffer.from('abcdef')]);

    expect(file.lastBytes(2).toString()).toBe('ef');
    expect(file.lastBytes(6).toString()).toBe('abcdef');
    expect(file.lastBytes(100).toString()).toBe('abcdef');
    expect(file.lastBytes(0)).toHaveLength(0);
    file.release();
  });

  it('reads nothing from an empty file', async () => {
    const file = await SpooledFile.create(dir);

    expect(file.length).toBe(0);
    expect(file.readAll()).toHaveLength(0);
    expect(file.lastBytes(2)).toHaveLength(0);
    expect(await collect(file.chunks())).toHaveLength(0);
    file.release();
  });

  it('closes on release: reading, appending and holding then throw', async () => {
    const file = await SpooledFile.create(dir);
    await file.append([Buffer.from('data')]);

    file.release();

    expect(file.isClosed).toBe(true);
    expect(() => file.readAll()).toThrow('the spooled file is closed');
    expect(() => file.lastBytes(1)).toThrow('the spooled file is closed');
    expect(() => file.hold()).toThrow('the spooled file is closed');
    await expect(collect(file.chunks())).rejects.toThrow('the spooled file is closed');
    await expect(file.append([Buffer.from('more')])).rejects.toThrow('the spooled file is closed');
    // A second release is harmless.
    file.release();
    expect(file.isClosed).toBe(true);
  });

  it('stays readable while held after the maker released it, and closes when the last hold goes', async () => {
    const file = await SpooledFile.create(dir);
    await file.append([Buffer.from('held bytes')]);
    const letGoFirst = file.hold();
    const letGoSecond = file.hold();

    file.release();
    expect(file.isClosed).toBe(false);
    expect(file.readAll().toString()).toBe('held bytes');

    // A hold lets go once, however often it is called.
    letGoFirst();
    letGoFirst();
    expect(file.isClosed).toBe(false);
    expect((await collect(file.chunks())).toString()).toBe('held bytes');

    letGoSecond();
    expect(file.isClosed).toBe(true);
    expect(() => file.readAll()).toThrow('the spooled file is closed');
  });

  it('still makes its file when the name was swept away between its creation and its unlink', async () => {
    const spoolDir = join(dir, 'spool');
    const fifos = join(dir, 'fifos');
    await mkdir(spoolDir);
    await mkdir(fifos);
    let settled = false;

    // Its open goes first in the pool's queue; its unlink, asked for once the open is done, waits
    // behind the blocked FIFO opens, while the name is swept (as another instance starting would).
    const creating = SpooledFile.create(spoolDir).finally(() => (settled = true));
    const pool = occupyThreadPool(fifos);
    let swept: string[] = [];
    try {
      while (!settled && swept.length === 0) {
        swept = readdirSync(spoolDir);
        if (swept.length === 0) await nextTurn();
      }
      for (const name of swept) unlinkSync(join(spoolDir, name));
    } finally {
      await pool.free();
    }
    const file = await creating;

    expect(swept).toEqual([expect.stringMatching(/^\.spool-/)]);
    await file.append([Buffer.from('still a file')]);
    expect(file.readAll().toString()).toBe('still a file');
    expect(await readdir(spoolDir)).toEqual([]);
    file.release();
  });

  it('sweeps the files named .spool-* left in dir, and nothing else', async () => {
    const kept = ['image.png', '.spoolish', 'x.spool-1', 'spool-1', 'sub'];
    await writeFile(join(dir, '.spool-AAAAAAAAAAAAAAAA'), 'left by a crash');
    await writeFile(join(dir, '.spool-BBBBBBBBBBBBBBBB'), '');
    for (const name of kept.slice(0, -1)) await writeFile(join(dir, name), 'kept');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', '.spool-CCCCCCCCCCCCCCCC'), 'not in dir itself');
    // A file made now has no name in dir: the sweep does not reach it.
    const inUse = await SpooledFile.create(dir);
    await inUse.append([Buffer.from('in use')]);

    expect(await SpooledFile.sweep(dir)).toBe(2);

    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
    expect(await readdir(join(dir, 'sub'))).toEqual(['.spool-CCCCCCCCCCCCCCCC']);
    expect(inUse.readAll().toString()).toBe('in use');
    expect(await SpooledFile.sweep(dir)).toBe(0);
    inUse.release();
  });

  it('sweeps nothing from a dir that does not exist', async () => {
    expect(await SpooledFile.sweep(join(dir, 'missing'))).toBe(0);
  });

  it('finishes a read under way when released, and refuses the next one', async () => {
    const file = await SpooledFile.create(dir);
    const bytes = randomBytes(600_000);
    await file.append([bytes]);
    const reader = file.chunks();

    const first = reader.next();
    file.release();

    const chunk = (await first).value as Buffer;
    expect(chunk.length).toBeGreaterThan(0);
    expect(chunk.equals(bytes.subarray(0, chunk.length))).toBe(true);
    await expect(reader.next()).rejects.toThrow('the spooled file is closed');
  });
});

describe(ByteSpool.name, () => {
  it('refuses bytes for a value let go of (its request ended), and makes no file for them', async () => {
    let files = 0;
    const spool = Object.assign(new ByteSpool({ memoryBytes: 0, dir }), { onFileCreated: () => files++ });
    const writer = spool.writer();
    writer.release();

    await expect(writer.write(Buffer.from('late bytes'))).rejects.toThrow(/ended/);
    expect(files).toBe(0);
    expect(spool.memoryBytes).toBe(0);
  });

  it('keeps values within the budget in memory as the buffers written, and counts them', async () => {
    const spool = new ByteSpool({ memoryBytes: 100, dir });
    const a = spool.writer();
    const b = spool.writer();
    const pieces = [Buffer.from('x'.repeat(30)), Buffer.from('y'.repeat(20))];

    expect(a.write(pieces[0]!)).toBeUndefined();
    expect(a.write(pieces[1]!)).toBeUndefined();
    expect(b.write(Buffer.from('z'.repeat(50)))).toBeUndefined();
    expect(a.write(Buffer.alloc(0))).toBeUndefined();

    expect(spool.memoryBytes).toBe(100);
    expect(a.size).toBe(50);
    const held = await a.finish();
    expect(held.length).toBe(50);
    expect(held.parts).toHaveLength(2);
    expect(held.parts[0]).toBe(pieces[0]);
    expect(held.parts[1]).toBe(pieces[1]);
    expect(await readdir(dir)).toEqual([]);

    a.release();
    expect(spool.memoryBytes).toBe(50);
    // Released twice, the budget is given back once.
    a.release();
    expect(spool.memoryBytes).toBe(50);
    b.release();
    expect(spool.memoryBytes).toBe(0);
  });

  it('moves a value past the budget to a file, the bytes held so far first, and gives its memory back', async () => {
    const spool = new ByteSpool({ memoryBytes: 100, dir });
    const other = spool.writer();
    expect(other.write(Buffer.from('o'.repeat(10)))).toBeUndefined();
    const writer = spool.writer();
    const pieces = [randomBytes(60), randomBytes(30), randomBytes(20), randomBytes(5), randomBytes(70_000)];

    expect(writer.write(pieces[0]!)).toBeUndefined();
    expect(writer.write(pieces[1]!)).toBeUndefined();
    expect(spool.memoryBytes).toBe(100);
    await writer.write(pieces[2]!);
    expect(spool.memoryBytes).toBe(10);
    await writer.write(pieces[3]!);
    await writer.write(pieces[4]!);

    const held = await writer.finish();
    expect(held.length).toBe(70_115);
    const file = onlyFile(held.parts);
    expect(file.length).toBe(70_115);
    expect(file.readAll().equals(Buffer.concat(pieces))).toBe(true);
    expect((await collect(file.chunks())).equals(Buffer.concat(pieces))).toBe(true);
    // The value in memory is not touched.
    expect((await other.takeBack()).toString()).toBe('o'.repeat(10));
    expect(spool.memoryBytes).toBe(0);

    writer.release();
    expect(file.isClosed).toBe(true);
  });

  it('writes to disk in batches: write returns a promise once a batch is full', async () => {
    const spool = new ByteSpool({ memoryBytes: 0, dir });
    const writer = spool.writer();
    const pieces = Array.from({ length: 8 }, () => randomBytes(100_000));

    const results: Array<Promise<void> | undefined> = [];
    for (const piece of pieces) {
      const written = writer.write(piece);
      results.push(written);
      await written;
    }

    // The first write makes the file; from then on a promise comes back as each 256 KB is reached.
    expect(results.map((result) => result instanceof Promise)).toEqual([
      true,
      false,
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    const file = onlyFile((await writer.finish()).parts);
    expect(file.readAll().equals(Buffer.concat(pieces))).toBe(true);
    writer.release();
  });

  it('always spools with a budget of 0', async () => {
    const files: number[] = [];
    const spool = Object.assign(new ByteSpool({ memoryBytes: 0, dir }), { onFileCreated: () => files.push(1) });
    const writer = spool.writer();

    await writer.write(Buffer.from('a'));
    await writer.write(Buffer.from('bc'));

    expect(spool.memoryBytes).toBe(0);
    const held = await writer.finish();
    expect(held.length).toBe(3);
    expect(onlyFile(held.parts).readAll().toString()).toBe('abc');
    expect(files).toHaveLength(1);
    writer.release();
  });

  it('makes its files in dir, leaving no name there', async () => {
    const spool = new ByteSpool({ memoryBytes: 0, dir });
    const writers = [spool.writer(), spool.writer()];

    await writers[0]!.write(Buffer.from('first'));
    await writers[1]!.write(Buffer.from('second'));
    const parts = await Promise.all(writers.map(async (writer) => onlyFile((await writer.finish()).parts)));

    expect(await readdir(dir)).toEqual([]);
    const open = await openFilesUnder(dir);
    expect(open).toHaveLength(2);
    for (const target of open) expect(target).toMatch(/ \(deleted\)$/);
    expect(parts.map((file) => file.readAll().toString())).toEqual(['first', 'second']);
    writers.forEach((writer) => writer.release());
  });

  it('creates a missing dir, mode 0700, only when a value first goes to a file', async () => {
    const spoolDir = join(dir, 'data', 'spool');
    const spool = new ByteSpool({ memoryBytes: 4, dir: spoolDir });
    const writer = spool.writer();

    expect(writer.write(Buffer.from('1234'))).toBeUndefined();
    await expect(stat(spoolDir)).rejects.toMatchObject({ code: 'ENOENT' });

    await writer.write(Buffer.from('5'));

    const created = await stat(spoolDir);
    expect(created.isDirectory()).toBe(true);
    expect(created.mode & 0o777).toBe(0o700);
    expect(await readdir(spoolDir)).toEqual([]);
    expect((await writer.takeBack()).toString()).toBe('12345');
  });

  it('tries to create the dir again after it could not', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'not a directory');
    const spool = new ByteSpool({ memoryBytes: 0, dir: join(blocker, 'spool') });

    await expect(spool.writer().write(Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOTDIR' });

    await rm(blocker);
    const writer = spool.writer();
    await writer.write(Buffer.from('y'));
    expect((await writer.takeBack()).toString()).toBe('y');
  });

  it('makes its dir again when it was removed while running', async () => {
    const spoolDir = join(dir, 'data', 'spool');
    const spool = new ByteSpool({ memoryBytes: 0, dir: spoolDir });
    const first = spool.writer();
    await first.write(Buffer.from('first'));
    const firstFile = onlyFile((await first.finish()).parts);

    await rm(join(dir, 'data'), { recursive: true, force: true });

    const second = spool.writer();
    await second.write(Buffer.from('second'));
    const secondFile = onlyFile((await second.finish()).parts);
    expect(secondFile.readAll().toString()).toBe('second');
    expect((await stat(spoolDir)).mode & 0o777).toBe(0o700);
    expect(await readdir(spoolDir)).toEqual([]);
    // The file made before is still read from its descriptor.
    expect(firstFile.readAll().toString()).toBe('first');
    first.release();
    second.release();
  });

  it('takes back every byte of a value, in memory or spooled, and lets go of it', async () => {
    const spool = new ByteSpool({ memoryBytes: 1000, dir });
    const small = spool.writer();
    expect(small.write(Buffer.from('hello '))).toBeUndefined();
    expect(small.write(Buffer.from('world'))).toBeUndefined();
    expect(spool.memoryBytes).toBe(11);

    expect((await small.takeBack()).toString()).toBe('hello world');
    expect(spool.memoryBytes).toBe(0);

    const large = spool.writer();
    const pieces = [randomBytes(900), randomBytes(200), randomBytes(300_000)];
    for (const piece of pieces) await large.write(piece);
    const file = onlyFile((await large.finish()).parts);

    expect((await large.takeBack()).equals(Buffer.concat(pieces))).toBe(true);
    expect(file.isClosed).toBe(true);
    expect(spool.memoryBytes).toBe(0);
  });

  it('counts each file made with onFileCreated', async () => {
    let files = 0;
    const spool = Object.assign(new ByteSpool({ memoryBytes: 10, dir }), { onFileCreated: () => files++ });
    const inMemory = spool.writer();
    expect(inMemory.write(Buffer.from('0123456789'))).toBeUndefined();
    expect(files).toBe(0);

    const spooled = [spool.writer(), spool.writer(), spool.writer()];
    for (const writer of spooled) {
      await writer.write(Buffer.from('a'));
      await writer.write(randomBytes(300_000));
      await writer.write(Buffer.from('b'));
    }

    expect(files).toBe(3);
    for (const writer of [inMemory, ...spooled]) writer.release();
  });

  describe('within a request', () => {
    it('lets go of what its writers hold when the request releases its resources', async () => {
      const spool = new ByteSpool({ memoryBytes: 100, dir });
      const resources = new RequestResources();

      const { inMemory, spooled } = await runWithRequestResources(resources, async () => {
        const first = spool.writer();
        expect(first.write(Buffer.from('m'.repeat(80)))).toBeUndefined();
        // Still the request's after an await.
        await Promise.resolve();
        const second = spool.writer();
        await second.write(Buffer.from('s'.repeat(80)));
        return { inMemory: first, spooled: second };
      });
      const file = onlyFile((await spooled.finish()).parts);
      expect((await inMemory.finish()).parts).toHaveLength(1);
      expect(spool.memoryBytes).toBe(80);
      expect(file.isClosed).toBe(false);

      resources.release();

      expect(spool.memoryBytes).toBe(0);
      expect(file.isClosed).toBe(true);
      expect(() => file.readAll()).toThrow('the spooled file is closed');
    });

    it('does not let go of a writer made outside the request', async () => {
      const spool = new ByteSpool({ memoryBytes: 100, dir });
      const resources = new RequestResources();
      const outside = spool.writer();
      expect(outside.write(Buffer.from('o'.repeat(40)))).toBeUndefined();
      const inside = runWithRequestResources(resources, () => spool.writer());
      expect(inside.write(Buffer.from('i'.repeat(30)))).toBeUndefined();

      resources.release();

      expect(spool.memoryBytes).toBe(40);
      expect((await outside.takeBack()).toString()).toBe('o'.repeat(40));
      expect(spool.memoryBytes).toBe(0);
    });

    it('keeps a spooled file readable past the request while a reader holds it', async () => {
      const spool = new ByteSpool({ memoryBytes: 0, dir });
      const resources = new RequestResources();
      const writer = runWithRequestResources(resources, () => spool.writer());
      await writer.write(Buffer.from('kept for a worker'));
      const file = onlyFile((await writer.finish()).parts);
      const letGo = file.hold();

      resources.release();

      expect(file.readAll().toString()).toBe('kept for a worker');
      letGo();
      expect(file.isClosed).toBe(true);
    });
  });
});
