import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Rejection, UsageSpool } from './usage-spool.js';

interface Row {
  id: string;
}

const rows = (from: number, count: number): Row[] => Array.from({ length: count }, (_, i) => ({ id: `r${from + i}` }));

describe(UsageSpool.name, () => {
  let dir: string;
  let reported: Rejection[];
  let sut: UsageSpool;

  /** A store that keeps what it is given, in order. */
  const collector = () => {
    const stored: Row[] = [];
    const batches: number[] = [];
    const store = async (batch: Row[]): Promise<Rejection[]> => {
      batches.push(batch.length);
      stored.push(...batch);
      return [];
    };
    return { stored, batches, store };
  };

  const deadLetters = async (): Promise<Array<Record<string, unknown>>> => {
    const text = await readFile(join(dir, 'rejected.ndjson'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easel-spool-spec-'));
    reported = [];
    sut = new UsageSpool(dir, (rejections) => reported.push(...rejections));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('replays appended records in batches, then deletes their files', async () => {
    await sut.append(rows(0, 5));
    await sut.append(rows(5, 2));
    expect(await sut.size()).toBeGreaterThan(0);
    const { stored, batches, store } = collector();

    await expect(sut.replay(store, 3)).resolves.toBe(7);

    expect(stored.map((row) => row.id).sort()).toEqual(
      rows(0, 7)
        .map((row) => row.id)
        .sort(),
    );
    expect(batches).toEqual([3, 2, 2]);
    expect(await readdir(dir)).toEqual([]);
    expect(await sut.size()).toBe(0);
    await expect(sut.oldestRecordAt()).resolves.toBeUndefined();
  });

  it('moves a torn last line and a garbage line to the dead-letter file, counts them, and replays the rest', async () => {
    const good = rows(0, 3).map((row) => JSON.stringify(row));
    await writeFile(
      join(dir, 'spool-1700000000000-1-1.ndjson'),
      `${good[0]}\nnot json at all\n${good[1]}\n[1,2]\n${good[2]}\n{"id":"r9","createdAt":"2026-0`,
    );
    const { stored, store } = collector();

    await expect(sut.replay(store, 10)).resolves.toBe(3);

    expect(stored.map((row) => row.id)).toEqual(['r0', 'r1', 'r2']);
    const letters = await deadLetters();
    expect(letters).toEqual([
      expect.objectContaining({
        reason: 'unparseable',
        source: 'spool-1700000000000-1-1.ndjson',
        line: 'not json at all',
        detail: expect.stringContaining('line 2'),
      }),
      expect.objectContaining({ reason: 'unparseable', line: '[1,2]' }),
      expect.objectContaining({
        reason: 'unparseable',
        line: '{"id":"r9","createdAt":"2026-0',
        rejected_at: expect.any(String),
      }),
    ]);
    expect(reported.map((rejection) => rejection.reason)).toEqual(['unparseable', 'unparseable', 'unparseable']);
    expect(await readdir(dir)).toEqual(['rejected.ndjson']);
    expect(await sut.size()).toBe(0);
  });

  it('moves the records the store refuses to the dead-letter file, with the reason', async () => {
    await sut.append(rows(0, 4));
    const stored: Row[] = [];
    const store = async (batch: Row[]): Promise<Rejection[]> => {
      stored.push(...batch.filter((row) => row.id !== 'r2'));
      return batch
        .filter((row) => row.id === 'r2')
        .map((record) => ({ reason: 'refused' as const, detail: 'numeric field overflow (SQLSTATE 22003)', record }));
    };

    await expect(sut.replay(store, 10)).resolves.toBe(3);

    expect(stored.map((row) => row.id)).toEqual(['r0', 'r1', 'r3']);
    expect(await deadLetters()).toEqual([
      expect.objectContaining({ reason: 'refused', record: { id: 'r2' }, detail: expect.stringContaining('22003') }),
    ]);
    expect(reported).toHaveLength(1);
  });

  it('keeps a file whose store failed for the next replay, without writing its dead letters twice', async () => {
    await writeFile(
      join(dir, 'spool-1700000000000-1-1.ndjson'),
      `garbage\n${rows(0, 4)
        .map((row) => JSON.stringify(row))
        .join('\n')}\n`,
    );
    let calls = 0;
    const failing = async (): Promise<Rejection[]> => {
      if (++calls === 2) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return [];
    };

    await expect(sut.replay(failing, 2)).rejects.toThrow('ECONNREFUSED');
    expect(await readdir(dir)).toEqual(['spool-1700000000000-1-1.ndjson']);
    expect(await deadLetters()).toEqual([]);

    const { stored, store } = collector();
    await expect(sut.replay(store, 2)).resolves.toBe(4);
    expect(stored).toHaveLength(4);
    expect(await deadLetters()).toHaveLength(1);
    expect(reported).toHaveLength(1);
  });

  it('runs one replay at a time: a call during a replay gets that replay, and no record is stored twice', async () => {
    await sut.append(rows(0, 6));
    let running = 0;
    let overlapped = false;
    const stored: Row[] = [];
    const slow = async (batch: Row[]): Promise<Rejection[]> => {
      overlapped ||= running > 0;
      running++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      stored.push(...batch);
      running--;
      return [];
    };

    const results = await Promise.all([sut.replay(slow, 2), sut.replay(slow, 2), sut.replay(slow, 2)]);

    expect(results).toEqual([6, 6, 6]);
    expect(overlapped).toBe(false);
    expect(stored).toHaveLength(6);
    await expect(sut.replay(slow, 2)).resolves.toBe(0);
  });

  it('replays the spool file of earlier versions, and adopts closed files from elsewhere', async () => {
    await writeFile(join(dir, 'spool.ndjson'), `${JSON.stringify({ id: 'legacy' })}\n`);
    const segment = join(await mkdtemp(join(tmpdir(), 'easel-journal-spec-')), 'segment-1700000000000-1-ab-1.ndjson');
    await writeFile(segment, `${JSON.stringify({ id: 'journal' })}\n`);
    await sut.adopt(segment);
    const { stored, store } = collector();

    await expect(sut.replay(store, 10)).resolves.toBe(2);

    expect(stored.map((row) => row.id).sort()).toEqual(['journal', 'legacy']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes each append whole, as a file named for its oldest record, and leaves the dead-letter file out of its size', async () => {
    await sut.append(rows(0, 2), 1_700_000_000_000);
    await sut.reject([{ reason: 'unparseable', detail: 'x', line: 'y'.repeat(1000) }]);

    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['rejected.ndjson', `spool-1700000000000-${process.pid}-1.ndjson`]);
    expect(await readFile(join(dir, files[1]!), 'utf8')).toBe('{"id":"r0"}\n{"id":"r1"}\n');
    expect(await sut.size()).toBe(24);
    await expect(sut.oldestRecordAt()).resolves.toBe(1_700_000_000_000);
  });

  it('takes in the file of an append a crash interrupted, once it is a minute old', async () => {
    await writeFile(join(dir, 'spool-1700000000000-1-1.ndjson.tmp'), '{"id":"r0"}\n{"id":"r1"}\n{"id":"r');
    await writeFile(join(dir, 'spool-1700000000000-1-2.ndjson.tmp'), '{"id":"r5"}\n');
    const longAgo = new Date(Date.now() - 120_000);
    await utimes(join(dir, 'spool-1700000000000-1-1.ndjson.tmp'), longAgo, longAgo);
    const { stored, store } = collector();

    await expect(sut.replay(store, 10)).resolves.toBe(2);

    expect(stored.map((row) => row.id)).toEqual(['r0', 'r1']);
    expect(await deadLetters()).toEqual([expect.objectContaining({ reason: 'unparseable', line: '{"id":"r' })]);
    expect((await readdir(dir)).sort()).toEqual(['rejected.ndjson', 'spool-1700000000000-1-2.ndjson.tmp']);
  });

  it('replays the oldest file first, and the records of each file in their order', async () => {
    await sut.append(rows(20, 2), 1_700_000_000_300);
    await sut.append(rows(0, 3), 1_700_000_000_100);
    await sut.append(rows(10, 2), 1_700_000_000_200);
    const { stored, store } = collector();

    await expect(sut.replay(store, 2)).resolves.toBe(7);

    expect(stored.map((row) => row.id)).toEqual(['r0', 'r1', 'r2', 'r10', 'r11', 'r20', 'r21']);
  });

  it('skips blank lines and reads CRLF line ends, rejecting nothing', async () => {
    await writeFile(join(dir, 'spool-1700000000000-1-1.ndjson'), '{"id":"r0"}\r\n\r\n   \n{"id":"r1"}\r\n\n');
    const { stored, store } = collector();

    await expect(sut.replay(store, 10)).resolves.toBe(2);

    expect(stored.map((row) => row.id)).toEqual(['r0', 'r1']);
    expect(await deadLetters()).toEqual([]);
    expect(reported).toEqual([]);
  });

  it('rejects a block of NUL bytes (what a power loss can leave) and JSON that is not an object, and replays the records around them', async () => {
    const nuls = '\0'.repeat(4096);
    await writeFile(
      join(dir, 'spool-1700000000000-1-1.ndjson'),
      `{"id":"r0"}\n${nuls}{"id":"r1"}\nnull\n"r2"\n42\n{"id":"r3"}\n`,
    );
    const { stored, store } = collector();

    await expect(sut.replay(store, 10)).resolves.toBe(2);

    expect(stored.map((row) => row.id)).toEqual(['r0', 'r3']);
    expect(await deadLetters()).toEqual([
      expect.objectContaining({
        reason: 'unparseable',
        detail: expect.stringContaining('line 2'),
        line: `${nuls}{"id":"r1"}`,
      }),
      expect.objectContaining({ reason: 'unparseable', detail: expect.stringContaining('line 3'), line: 'null' }),
      expect.objectContaining({ reason: 'unparseable', detail: expect.stringContaining('line 4'), line: '"r2"' }),
      expect.objectContaining({ reason: 'unparseable', detail: expect.stringContaining('line 5'), line: '42' }),
    ]);
  });

  it('keeps the first 65,536 characters of an unparseable line in the dead-letter file', async () => {
    const long = `{"id":"r0","note":"${'n'.repeat(100_000)}`;
    await writeFile(join(dir, 'spool-1700000000000-1-1.ndjson'), `${long}\n`);

    await expect(sut.replay(collector().store, 10)).resolves.toBe(0);

    const [letter] = await deadLetters();
    expect(letter!.line).toBe(long.slice(0, 65_536));
  });

  it('never replays the dead-letter file, and adds to it replay after replay, naming the file each rejection came from', async () => {
    await writeFile(join(dir, 'spool-1700000000000-1-1.ndjson'), 'first garbage\n{"id":"r0"}\n');
    const { stored, store } = collector();
    await expect(sut.replay(store, 10)).resolves.toBe(1);
    await writeFile(join(dir, 'spool-1700000000001-1-2.ndjson'), 'second garbage\n');

    await expect(sut.replay(store, 10)).resolves.toBe(0);
    await expect(sut.replay(store, 10)).resolves.toBe(0);

    expect(stored.map((row) => row.id)).toEqual(['r0']);
    expect(await deadLetters()).toEqual([
      expect.objectContaining({ source: 'spool-1700000000000-1-1.ndjson', line: 'first garbage' }),
      expect.objectContaining({ source: 'spool-1700000000001-1-2.ndjson', line: 'second garbage' }),
    ]);
    expect(await readdir(dir)).toEqual(['rejected.ndjson']);
    expect(await sut.size()).toBe(0);
  });

  it('keeps a file whose dead letters cannot be written, and writes them once they can', async () => {
    await writeFile(join(dir, 'spool-1700000000000-1-1.ndjson'), 'garbage\n{"id":"r0"}\n');
    // A directory where the dead-letter file belongs: appending to it fails.
    await mkdir(join(dir, 'rejected.ndjson'));

    await expect(sut.replay(collector().store, 10)).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['rejected.ndjson', 'spool-1700000000000-1-1.ndjson']);
    expect(reported).toEqual([]);

    await rm(join(dir, 'rejected.ndjson'), { recursive: true });
    await expect(sut.replay(collector().store, 10)).resolves.toBe(1);
    expect(await deadLetters()).toEqual([expect.objectContaining({ reason: 'unparseable', line: 'garbage' })]);
    expect(reported).toHaveLength(1);
  });

  it('writes its files for their owner only', async () => {
    await sut.append(rows(0, 1));
    await sut.reject([{ reason: 'refused', detail: 'value too long (SQLSTATE 22001)', record: { id: 'r9' } }]);

    for (const file of await readdir(dir))
      expect({ file, mode: (await stat(join(dir, file))).mode & 0o777 }).toEqual({ file, mode: 0o600 });
  });

  it('has nothing to replay, no size and no oldest record before its directory exists, and writes nothing for nothing', async () => {
    await rm(dir, { recursive: true });
    const { batches, store } = collector();

    await expect(sut.replay(store, 10)).resolves.toBe(0);
    await expect(sut.size()).resolves.toBe(0);
    await expect(sut.oldestRecordAt()).resolves.toBeUndefined();
    await sut.append([]);
    await sut.reject([]);

    expect(batches).toEqual([]);
    expect(reported).toEqual([]);
    await expect(readdir(dir)).rejects.toThrow('ENOENT');
  });

  it('dates a file without a time in its name by its modification time', async () => {
    await writeFile(join(dir, 'spool.ndjson'), '{"id":"old"}\n');
    await utimes(join(dir, 'spool.ndjson'), new Date(1_600_000_000_000), new Date(1_600_000_000_000));

    await expect(sut.oldestRecordAt()).resolves.toBe(1_600_000_000_000);
  });
});
