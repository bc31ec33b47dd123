import { Body, Controller, Get, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { CreateTeamDto, TeamListResponse, TeamResponse } from './dto/team.dto.js';
import { TeamsService } from './teams.service.js';

@ApiTags('admin')
@AdminOnly()
@Controller('admin/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a team (keys belong to a team; usage is reported per team)' })
  @ApiCreatedResponse({ type: TeamResponse })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'The name is taken', type: ErrorResponseDto })
  async create(@Body() body: CreateTeamDto): Promise<TeamResponse> {
    return TeamResponse.from(await this.teams.create(body.name, body.monthly_budget_usd ?? null));
  }

  @Get()
  @ApiOperation({ summary: 'List teams' })
  @ApiOkResponse({ type: TeamListResponse })
  async list(): Promise<TeamListResponse> {
    return { object: 'list', data: (await this.teams.list()).map(TeamResponse.from) };
  }
}
