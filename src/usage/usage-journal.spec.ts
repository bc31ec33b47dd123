import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageJournal } from './usage-journal.js';

interface Row {
  id: string;
}

/** The id of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
}

describe(UsageJournal.name, () => {
  let dir: string;
  let errors: unknown[];
  let sut: UsageJournal<Row>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easel-journal-spec-'));
    errors = [];
    sut = new UsageJournal<Row>(dir, (error) => errors.push(error));
  });

  afterEach(async () => {
    sut.close();
    await rm(dir, { recursive: true, force: true });
  });

  const segments = async () => (await readdir(dir)).filter((name) => name.startsWith('segment-'));

  it('writes each record to the open segment at once, and hands segments out in order', async () => {
    sut.write({ id: 'a' }, '{"id":"a"}\n');
    sut.write({ id: 'b' }, '{"id":"b"}\n');
    const [file] = await segments();
    expect(file).toMatch(new RegExp(`^segment-\\d+-${process.pid}-[0-9a-f]+-1\\.ndjson$`));
    // On disk before anything is flushed: a crash now loses nothing.
    expect(await readFile(join(dir, file!), 'utf8')).toBe('{"id":"a"}\n{"id":"b"}\n');
    expect(sut.depth).toBe(2);

    const first = sut.take()!;
    sut.write({ id: 'c' }, '{"id":"c"}\n');
    expect(first.rows).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(first.complete).toBe(true);
    expect(first.path).toBe(join(dir, file!));
    expect(sut.depth).toBe(1);

    sut.discard(first);
    const second = sut.take()!;
    expect(second.rows).toEqual([{ id: 'c' }]);
    expect(sut.take()).toBeUndefined();
    sut.putBack(second);
    expect(sut.take()).toBe(second);
    sut.discard(second);
    expect(await segments()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('finds the segments of a process that has exited, or of an earlier run with this process id, as leftovers', async () => {
    const dead = deadPid();
    await writeFile(join(dir, `segment-1700000000000-${dead}-abcd1234-1.ndjson`), '{"id":"x"}\n');
    await writeFile(join(dir, `segment-1700000000000-${process.pid}-0badf00d-3.ndjson`), '{"id":"y"}\n');

    expect(sut.leftovers().sort()).toEqual(
      [
        join(dir, `segment-1700000000000-${dead}-abcd1234-1.ndjson`),
        join(dir, `segment-1700000000000-${process.pid}-0badf00d-3.ndjson`),
      ].sort(),
    );
  });

  it('leaves the segments of a running writer alone while its owner file is fresh, not after', async () => {
    const running = process.ppid;
    await writeFile(join(dir, `owner-${running}-abcd1234`), '');
    await writeFile(join(dir, `segment-1700000000000-${running}-abcd1234-1.ndjson`), '{"id":"x"}\n');
    expect(sut.leftovers()).toEqual([]);

    const longAgo = new Date(Date.now() - 60_000);
    await utimes(join(dir, `owner-${running}-abcd1234`), longAgo, longAgo);
    expect(sut.leftovers()).toEqual([join(dir, `segment-1700000000000-${running}-abcd1234-1.ndjson`)]);
  });

  it("never takes another open journal's segments in this process for leftovers", () => {
    const other = new UsageJournal<Row>(dir, (error) => errors.push(error));
    try {
      other.write({ id: 'a' }, '{"id":"a"}\n');
      sut.write({ id: 'b' }, '{"id":"b"}\n');
      expect(sut.leftovers()).toEqual([]);
    } finally {
      other.close();
    }
    // Closed (its records would be replayed by the next start): now a leftover.
    expect(sut.leftovers()).toHaveLength(1);
  });

  it('removes the owner files of writers that are gone once their segments are', async () => {
    const dead = deadPid();
    await writeFile(join(dir, `owner-${dead}-abcd1234`), '');
    await writeFile(join(dir, `owner-${deadPid()}-0badf00d`), '');
    await writeFile(join(dir, `segment-1700000000000-${dead}-abcd1234-1.ndjson`), '{"id":"x"}\n');
    sut.write({ id: 'a' }, '{"id":"a"}\n');

    sut.heartbeat();

    const owners = (await readdir(dir)).filter((name) => name.startsWith('owner-'));
    // In any order (sorting an asymmetric matcher among strings depends on the pids).
    expect(owners).toHaveLength(2);
    expect(owners).toEqual(
      expect.arrayContaining([`owner-${dead}-abcd1234`, expect.stringMatching(new RegExp(`^owner-${process.pid}-`))]),
    );
  });

  it('keeps records in memory when the journal cannot be written', async () => {
    await writeFile(join(dir, 'not-a-dir'), '');
    const broken = new UsageJournal<Row>(join(dir, 'not-a-dir', 'journal'), (error) => errors.push(error));
    try {
      broken.write({ id: 'a' }, '{"id":"a"}\n');
      broken.write({ id: 'b' }, '{"id":"b"}\n');
      const segment = broken.take()!;
      expect(segment.rows).toEqual([{ id: 'a' }, { id: 'b' }]);
      expect(segment.path).toBeUndefined();
      expect(errors).toHaveLength(1);
    } finally {
      broken.close();
    }
  });
});
