import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { BudgetSpendRepository } from './budget-spend.repository.js';
import { BudgetStatusService } from './budget-status.service.js';

const NOW = new Date('2031-05-17T23:59:59.999Z');

/** Where budgets stand, read from a real `budget_spend`. */
describe(BudgetStatusService.name, () => {
  const database = useMigratedDataSource();
  let spend: BudgetSpendRepository;
  let sut: BudgetStatusService;

  beforeAll(() => {
    spend = new BudgetSpendRepository(database.dataSource);
    sut = new BudgetStatusService(spend);
  });

  afterEach(() => jest.restoreAllMocks());

  it("gives each team its month's spent and reserved, 0 without a row, null without a budget, in one query", async () => {
    const [spender, idle, unbudgeted] = [randomUUID(), randomUUID(), randomUUID()];
    await spend.reserve([{ scope: `team:${spender}`, limit: '5' }], '2031-05-01', '0.125');
    await spend.reserve([{ scope: `team:${spender}`, limit: '5' }], '2031-04-01', '4');
    // A row left from before the budget was cleared: no longer a budget's status.
    await spend.reserve([{ scope: `team:${unbudgeted}`, limit: '5' }], '2031-05-01', '1');
    const query = jest.spyOn(database.dataSource, 'query');

    const statuses = await sut.ofTeams(
      [
        { name: spender, monthlyBudgetUsd: '5.000000000000' },
        { name: idle, monthlyBudgetUsd: '1.000000000000' },
        { name: unbudgeted, monthlyBudgetUsd: null },
      ],
      NOW,
    );

    expect(statuses).toEqual([
      { month: '2031-05', spent: 0n, reserved: 125_000_000_000n },
      { month: '2031-05', spent: 0n, reserved: 0n },
      { month: '2031-05', spent: null, reserved: null },
    ]);
    expect(query).toHaveBeenCalledTimes(1);
  });

  it('reads keys by their own scope, and asks nothing when no budget applies', async () => {
    const id = randomUUID();
    await spend.reserve([{ scope: `key:${id}`, limit: '5' }], '2031-05-01', '0.5');
    await database.dataSource.transaction((manager) =>
      spend.settle(manager, [
        { scopes: [`key:${id}`], month: '2031-05-01', reserved: '0.5', actual: '0.000000000001' },
      ]),
    );

    await expect(sut.ofKeys([{ id, monthlyBudgetUsd: '5' }], NOW)).resolves.toEqual([
      { month: '2031-05', spent: 1n, reserved: 0n },
    ]);
    // The team of the same name is another scope.
    await expect(sut.ofTeams([{ name: id, monthlyBudgetUsd: '5' }], NOW)).resolves.toEqual([
      { month: '2031-05', spent: 0n, reserved: 0n },
    ]);
    const query = jest.spyOn(database.dataSource, 'query');
    await expect(sut.ofKeys([{ id, monthlyBudgetUsd: null }], NOW)).resolves.toEqual([
      { month: '2031-05', spent: null, reserved: null },
    ]);
    expect(query).not.toHaveBeenCalled();
  });

  it('gives a new key its status without a query: nothing used yet, or null without a budget', () => {
    const query = jest.spyOn(database.dataSource, 'query');
    expect(sut.ofNewKey({ monthlyBudgetUsd: '20' }, NOW)).toEqual({ month: '2031-05', spent: 0n, reserved: 0n });
    expect(sut.ofNewKey({ monthlyBudgetUsd: null }, NOW)).toEqual({ month: '2031-05', spent: null, reserved: null });
    expect(query).not.toHaveBeenCalled();
  });
});
