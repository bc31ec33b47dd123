import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import { parseUsd, type Pico } from '../common/money/usd.js';
import { TeamEntity } from './team.entity.js';

const BUDGET_CACHE_MS = 5_000;
const UNIQUE_VIOLATION = '23505';

@Injectable()
export class TeamsService {
  /** team name → monthly budget (pico-dollars) or null, for a few seconds: checked on every request. */
  private readonly budgets = new Map<string, { budget: Pico | null; until: number }>();

  constructor(@InjectRepository(TeamEntity) private readonly teams: Repository<TeamEntity>) {}

  async monthlyBudgetOf(name: string): Promise<Pico | null> {
    const now = Date.now();
    const cached = this.budgets.get(name);
    if (cached && cached.until > now) return cached.budget;
    let team: TeamEntity | null;
    try {
      team = await this.teams.findOneBy({ name });
    } catch (error) {
      // PostgreSQL is away: what we knew still holds; without it the request cannot be admitted.
      if (cached) return cached.budget;
      throw new GatewayError(ErrorCode.NotReady, 'Easel cannot check budgets right now; retry shortly.', {
        cause: error,
      });
    }
    const budget = team?.monthlyBudgetUsd ? parseUsd(team.monthlyBudgetUsd) : null;
    this.budgets.set(name, { budget, until: now + BUDGET_CACHE_MS });
    return budget;
  }

  async create(name: string, monthlyBudgetUsd: string | null): Promise<TeamEntity> {
    try {
      return await this.teams.save(this.teams.create({ name, monthlyBudgetUsd }));
    } catch (error) {
      // The unique index decides, also between two creates of one name at once.
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new GatewayError(ErrorCode.Conflict, `A team named '${name}' already exists.`, { param: 'name' });
      }
      throw error;
    }
  }

  list(): Promise<TeamEntity[]> {
    return this.teams.find({ order: { name: 'ASC' } });
  }

  /** 400 naming `team` when there is no such team. */
  async assertExists(name: string): Promise<void> {
    if (!(await this.teams.existsBy({ name }))) {
      throw new InvalidRequestError(`There is no team '${name}'; create it with POST /admin/teams.`, 'team');
    }
  }
}
