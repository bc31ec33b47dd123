import { jest } from '@jest/globals';
import type { Repository } from 'typeorm';
import type { ApiKeyEntity } from './api-key.entity.js';
import { KeyLastUsedTracker } from './key-last-used.tracker.js';

/** How often last_used_at is written, not what PostgreSQL stores (limits.e2e-spec does that). */
describe(KeyLastUsedTracker.name, () => {
  const KEY = '9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e03';
  const OTHER_KEY = '9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e04';
  let writes: Array<{ id: string; lastUsedAt: Date }>;
  let failing: boolean;
  let now: ReturnType<typeof jest.spyOn>;
  let sut: KeyLastUsedTracker;

  beforeEach(() => {
    writes = [];
    failing = false;
    const keys = {
      update: ({ id }: { id: string }, { lastUsedAt }: { lastUsedAt: Date }) => {
        writes.push({ id, lastUsedAt });
        return failing ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve();
      },
    } as unknown as Repository<ApiKeyEntity>;
    now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    sut = new KeyLastUsedTracker(keys);
  });

  afterEach(() => jest.restoreAllMocks());

  const settled = () => new Promise((resolve) => setImmediate(resolve));

  it('writes the time of use at most once a minute per key', () => {
    sut.noteUse(KEY);
    now.mockReturnValue(1_030_000);
    sut.noteUse(KEY);
    sut.noteUse(OTHER_KEY);
    now.mockReturnValue(1_060_001);
    sut.noteUse(KEY);

    expect(writes).toEqual([
      { id: KEY, lastUsedAt: new Date(1_000_000) },
      { id: OTHER_KEY, lastUsedAt: new Date(1_030_000) },
      { id: KEY, lastUsedAt: new Date(1_060_001) },
    ]);
  });

  it('tries a failed write again at the next use', async () => {
    failing = true;
    sut.noteUse(KEY);
    await settled();
    failing = false;
    now.mockReturnValue(1_001_000);
    sut.noteUse(KEY);
    await settled();
    sut.noteUse(KEY);

    expect(writes.map((write) => write.lastUsedAt.getTime())).toEqual([1_000_000, 1_001_000]);
  });
});
