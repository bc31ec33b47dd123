import { ConcurrencyLimit } from './concurrency-limit.js';

/** A task that runs until `finish` is called, recording when it starts. */
function gate(started: number[], id: number) {
  let finish!: (fail?: boolean) => void;
  const done = new Promise<number>((resolve, reject) => {
    finish = (fail) => (fail ? reject(new Error(`task ${id} failed`)) : resolve(id));
  });
  return {
    task: () => {
      started.push(id);
      return done;
    },
    finish: (fail?: boolean) => finish(fail),
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe(ConcurrencyLimit.name, () => {
  it('runs at most `limit` tasks at once, then the waiting ones in the order they came', async () => {
    const sut = new ConcurrencyLimit(2);
    const started: number[] = [];
    const gates = [1, 2, 3, 4].map((id) => gate(started, id));
    const results = gates.map((g) => sut.run(g.task));
    await turn();
    expect(started).toEqual([1, 2]);

    gates[1]!.finish();
    await turn();
    expect(started).toEqual([1, 2, 3]);

    gates[0]!.finish();
    await turn();
    expect(started).toEqual([1, 2, 3, 4]);

    gates[2]!.finish();
    gates[3]!.finish();
    await expect(Promise.all(results)).resolves.toEqual([1, 2, 3, 4]);
  });

  it('frees the slot of a task that fails, and passes its error on', async () => {
    const sut = new ConcurrencyLimit(1);
    const started: number[] = [];
    const first = gate(started, 1);
    const second = gate(started, 2);
    const failed = sut.run(first.task);
    const next = sut.run(second.task);
    await turn();
    expect(started).toEqual([1]);

    first.finish(true);
    await expect(failed).rejects.toThrow('task 1 failed');
    await turn();
    expect(started).toEqual([1, 2]);
    second.finish();
    await expect(next).resolves.toBe(2);

    // The slot is free again: a new task starts at once.
    const third = gate(started, 3);
    void sut.run(third.task);
    await turn();
    expect(started).toEqual([1, 2, 3]);
    third.finish();
  });
});
