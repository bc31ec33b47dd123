import { Body, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { BudgetStatusService } from '../budgets/budget-status.service.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { uuidPipe } from '../common/validation/uuid.pipe.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import { ApiKeysService } from './api-keys.service.js';
import { AdminController } from './auth.decorators.js';
import { ApiKeyListResponse, ApiKeyResponse, CreatedApiKeyResponse } from './dto/api-key.response.js';
import { CreateApiKeyDto, UpdateApiKeyDto } from './dto/create-api-key.dto.js';

@AdminController('admin/keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly budgets: BudgetStatusService,
  ) {}

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
    return { ...ApiKeyResponse.from(entity, this.budgets.ofNewKey(entity)), key };
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
    return this.toResponse(entity);
  }

  @Get()
  @ApiEndpoint('List API keys (never their secrets)', { ok: ApiKeyListResponse })
  async list(): Promise<ApiKeyListResponse> {
    const keys = await this.apiKeys.list();
    const budgets = await this.budgets.ofKeys(keys);
    return { object: 'list', data: keys.map((key, index) => ApiKeyResponse.from(key, budgets[index]!)) };
  }

  @Get(':id')
  @ApiEndpoint('Get one API key', { ok: ApiKeyResponse, errors: [404] })
  async get(@Param('id', uuidPipe) id: string): Promise<ApiKeyResponse> {
    return this.toResponse(await this.apiKeys.get(id));
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiEndpoint('Revoke an API key (idempotent)', { ok: ApiKeyResponse, errors: [404] })
  async revoke(@Param('id', uuidPipe) id: string): Promise<ApiKeyResponse> {
    return this.toResponse(await this.apiKeys.revoke(id));
  }

  /** The key as the admin API shows it, with where its own budget stands this month. */
  private async toResponse(entity: ApiKeyEntity): Promise<ApiKeyResponse> {
    const [budget] = await this.budgets.ofKeys([entity]);
    return ApiKeyResponse.from(entity, budget!);
  }
}
