import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { uuidPipe } from '../common/validation/uuid.pipe.js';
import { ApiKeysService } from './api-keys.service.js';
import { AdminOnly } from './auth.decorators.js';
import { ApiKeyListResponse, ApiKeyResponse, CreatedApiKeyResponse } from './dto/api-key.response.js';
import { CreateApiKeyDto, UpdateApiKeyDto } from './dto/create-api-key.dto.js';

@ApiTags('admin')
@AdminOnly()
@Controller('admin/keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key (the secret is returned once)' })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const { entity, key } = await this.apiKeys.create({
      name: body.name,
      team: body.team,
      isAdmin: body.admin,
      allowedModels: body.allowed_models,
      expiresAt: body.expires_at,
      rpm: body.rpm,
      monthlyBudgetUsd: body.monthly_budget_usd,
    });
    return { ...ApiKeyResponse.from(entity), key };
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Change a key's name, team, allowed models, expiry, rpm or monthly budget (null clears a limit)",
  })
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async update(@Param('id', uuidPipe) id: string, @Body() body: UpdateApiKeyDto): Promise<ApiKeyResponse> {
    const entity = await this.apiKeys.update(id, {
      name: body.name,
      team: body.team,
      allowedModels: body.allowed_models,
      expiresAt: body.expires_at,
      rpm: body.rpm,
      monthlyBudgetUsd: body.monthly_budget_usd,
    });
    return ApiKeyResponse.from(entity);
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never their secrets)' })
  @ApiOkResponse({ type: ApiKeyListResponse })
  async list(): Promise<ApiKeyListResponse> {
    return { object: 'list', data: (await this.apiKeys.list()).map(ApiKeyResponse.from) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one API key' })
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param('id', uuidPipe) id: string): Promise<ApiKeyResponse> {
    return ApiKeyResponse.from(await this.apiKeys.get(id));
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key (idempotent)' })
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async revoke(@Param('id', uuidPipe) id: string): Promise<ApiKeyResponse> {
    return ApiKeyResponse.from(await this.apiKeys.revoke(id));
  }
}
