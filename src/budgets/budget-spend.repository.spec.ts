import { randomUUID } from 'node:crypto';
import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { BudgetSpendRepository } from './budget-spend.repository.js';

const MONTH = '2031-05-01';

/** Reservations and settlements on a real PostgreSQL: no budget overrun, however many ask at once. */
describe(BudgetSpendRepository.name, () => {
  const database = useMigratedDataSource();
  let sut: BudgetSpendRepository;

  beforeAll(() => {
    sut = new BudgetSpendRepository(database.dataSource);
  });

  const spendOf = async (scope: string) =>
    (
      (await database.dataSource.query('SELECT spent, reserved FROM budget_spend WHERE scope = $1 AND month = $2', [
        scope,
        MONTH,
      ])) as Array<{ spent: string; reserved: string }>
    )[0];

  it('admits concurrent reservations only as far as the limit goes', async () => {
    const scope = `key:${randomUUID()}`;

    const refused = await Promise.all(
      Array.from({ length: 10 }, () => sut.reserve([{ scope, limit: '1' }], MONTH, '0.3')),
    );

    expect(refused.filter((index) => index === -1)).toHaveLength(3);
    expect(refused.filter((index) => index === 0)).toHaveLength(7);
    await expect(spendOf(scope)).resolves.toEqual({ spent: '0.000000000000', reserved: '0.900000000000' });
  });

  it('names the first budget that refuses and reserves against none of them', async () => {
    const key = `key:${randomUUID()}`;
    const team = `team:${randomUUID()}`;
    await sut.reserve([{ scope: team, limit: '1' }], MONTH, '0.9');

    const limits = [
      { scope: key, limit: '5' },
      { scope: team, limit: '1' },
    ];
    await expect(sut.reserve(limits, MONTH, '0.2')).resolves.toBe(1);

    await expect(spendOf(key)).resolves.toBeUndefined();
    await expect(spendOf(team)).resolves.toEqual({ spent: '0.000000000000', reserved: '0.900000000000' });
  });

  it("reads the given scopes' rows of one month in one query, and no other scope's or month's", async () => {
    const [key, team, other, absent] = ['key', 'team', 'key', 'team'].map((kind) => `${kind}:${randomUUID()}`);
    for (const scope of [key, team, other]) await sut.reserve([{ scope: scope!, limit: '10' }], MONTH, '0.25');
    await sut.reserve([{ scope: key!, limit: '10' }], '2031-06-01', '7');
    await database.dataSource.transaction((manager) =>
      sut.settle(manager, [{ scopes: [key!], month: MONTH, reserved: '0.25', actual: '0.2' }]),
    );

    const rows = await sut.findMonth([key!, team!, absent!], MONTH);

    expect(Object.fromEntries(rows)).toEqual({
      [key!]: { spent: '0.200000000000', reserved: '0.000000000000' },
      [team!]: { spent: '0.000000000000', reserved: '0.250000000000' },
    });
    await expect(sut.findMonth([], MONTH)).resolves.toEqual(new Map());
  });

  it('swaps reservations for actual costs in the given transaction, summed per scope', async () => {
    const key = `key:${randomUUID()}`;
    const team = `team:${randomUUID()}`;
    const scopes = [key, team];
    const limits = scopes.map((scope) => ({ scope, limit: '10' }));
    await sut.reserve(limits, MONTH, '0.5');
    await sut.reserve(limits, MONTH, '0.5');

    await database.dataSource.transaction((manager) =>
      sut.settle(manager, [
        { scopes, month: MONTH, reserved: '0.5', actual: '0.1' },
        { scopes, month: MONTH, reserved: '0.5', actual: '0.25' },
      ]),
    );

    for (const scope of scopes) {
      await expect(spendOf(scope)).resolves.toEqual({ spent: '0.350000000000', reserved: '0.000000000000' });
    }
  });
});
