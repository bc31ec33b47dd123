import { Body, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { uuidPipe } from '../common/validation/uuid.pipe.js';
import { ApiKeysService } from './api-keys.service.js';
import { AdminController } from './auth.decorators.js';
import { ApiKeyListResponse, ApiKeyResponse, CreatedApiKeyResponse } from './dto/api-key.response.js';
import { CreateApiKeyDto, UpdateApiKeyDto } from './dto/create-api-key.dto.js';

@AdminController('admin/keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiEndpoint('Create an API key (the secret is returned once)', { created: CreatedApiKeyResponse, errors: [400] })
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
  @ApiEndpoint("Change a key's name, team, allowed models, expiry, rpm or monthly budget (null clears a limit)", {
    ok: ApiKeyResponse,
    errors: [400, 404],
  })
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
  @ApiEndpoint('List API keys (never their secrets)', { ok: ApiKeyListResponse })
  async list(): Promise<ApiKeyListResponse> {
    return { object: 'list', data: (await this.apiKeys.list()).map(ApiKeyResponse.from) };
  }

  @Get(':id')
  @ApiEndpoint('Get one API key', { ok: ApiKeyResponse, errors: [404] })
  async get(@Param('id', uuidPipe) id: string): Promise<ApiKeyResponse> {
    return ApiKeyResponse.from(await this.apiKeys.get(id));
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiEndpoint('Revoke an API key (idempotent)', { ok: ApiKeyResponse, errors: [404] })
  async revoke(@Param('id', uuidPipe) id: string): Promise<ApiKeyResponse> {
    return ApiKeyResponse.from(await this.apiKeys.revoke(id));
  }
}
