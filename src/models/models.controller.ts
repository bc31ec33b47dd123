import { Get, Param } from '@nestjs/common';
import { ApiCookieAuth } from '@nestjs/swagger';
import { AdminController, CurrentPrincipal, V1Controller } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { ModelDto, ModelListDto } from './dto/model.response.js';
import { ModelsService } from './models.service.js';

@V1Controller('models')
@ApiCookieAuth('console')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiEndpoint('List the models this key may use, with endpoints, capabilities and availability', { ok: ModelListDto })
  list(@CurrentPrincipal() principal: Principal): ModelListDto {
    return this.models.list(principal);
  }

  @Get(':id')
  @ApiEndpoint('Get one model; the id is URL-encoded (/v1/models/azure%2Fopenai%2Fgpt-image-1), as the SDK sends it', {
    ok: ModelDto,
    errors: [403, 404],
  })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): ModelDto {
    return this.models.get(principal, id);
  }
}

/** The whole catalogue for admins (whose keys do not call /v1): what the console's Models page and key form show. */
@AdminController('admin/models')
export class ModelsAdminController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiEndpoint('Every model of the catalogue, as /v1/models shows one, whichever keys may use it', {
    ok: ModelListDto,
  })
  list(): ModelListDto {
    return this.models.list();
  }
}
