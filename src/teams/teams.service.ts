import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import { TeamEntity } from './team.entity.js';

@Injectable()
export class TeamsService {
  constructor(@InjectRepository(TeamEntity) private readonly teams: Repository<TeamEntity>) {}

  async create(name: string, monthlyBudgetUsd: string | null): Promise<TeamEntity> {
    if (await this.teams.existsBy({ name })) {
      throw new GatewayError(ErrorCode.Conflict, `A team named '${name}' already exists.`, { param: 'name' });
    }
    return this.teams.save(this.teams.create({ name, monthlyBudgetUsd }));
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
