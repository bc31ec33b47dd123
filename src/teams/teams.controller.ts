import { Body, Get, Post } from '@nestjs/common';
import { ApiConflictResponse } from '@nestjs/swagger';
import { AdminController } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { CreateTeamDto, TeamListResponse, TeamResponse } from './dto/team.dto.js';
import { TeamsService } from './teams.service.js';

@AdminController('admin/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Post()
  @ApiEndpoint('Create a team (keys belong to a team; usage is reported per team)', {
    created: TeamResponse,
    errors: [400],
  })
  @ApiConflictResponse({ description: 'The name is taken', type: ErrorResponseDto })
  async create(@Body() body: CreateTeamDto): Promise<TeamResponse> {
    return TeamResponse.from(await this.teams.create(body.name, body.monthly_budget_usd ?? null));
  }

  @Get()
  @ApiEndpoint('List teams', { ok: TeamListResponse })
  async list(): Promise<TeamListResponse> {
    return { object: 'list', data: (await this.teams.list()).map(TeamResponse.from) };
  }
}
