import { Body, Get, Post } from '@nestjs/common';
import { ApiConflictResponse } from '@nestjs/swagger';
import { AdminController } from '../auth/auth.decorators.js';
import { BudgetStatusService } from '../budgets/budget-status.service.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { CreateTeamDto, TeamListResponse, TeamResponse } from './dto/team.dto.js';
import { TeamsService } from './teams.service.js';

@AdminController('admin/teams')
export class TeamsController {
  constructor(
    private readonly teams: TeamsService,
    private readonly budgets: BudgetStatusService,
  ) {}

  @Post()
  @ApiEndpoint('Create a team (keys belong to a team; usage is reported per team)', {
    created: TeamResponse,
    errors: [400],
  })
  @ApiConflictResponse({ description: 'The name is taken', type: ErrorResponseDto })
  async create(@Body() body: CreateTeamDto): Promise<TeamResponse> {
    const team = await this.teams.create(body.name, body.monthly_budget_usd ?? null);
    const [budget] = await this.budgets.ofTeams([team]);
    return TeamResponse.from(team, budget!);
  }

  @Get()
  @ApiEndpoint("List teams, with where each team's budget stands this month", { ok: TeamListResponse })
  async list(): Promise<TeamListResponse> {
    const teams = await this.teams.list();
    const budgets = await this.budgets.ofTeams(teams);
    return { object: 'list', data: teams.map((team, index) => TeamResponse.from(team, budgets[index]!)) };
  }
}
