import { Controller, Get, Param } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, CurrentPrincipal } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { ModelDto, ModelListDto } from './dto/model.response.js';
import { ModelsService } from './models.service.js';

@ApiTags('models')
@ApiKeyAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'List the models this key may use, with endpoints, capabilities and availability' })
  @ApiOkResponse({ type: ModelListDto })
  list(@CurrentPrincipal() principal: Principal): ModelListDto {
    return this.models.list(principal);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Get one model; the id is URL-encoded (/v1/models/azure%2Fopenai%2Fgpt-image-1), as the SDK sends it',
  })
  @ApiOkResponse({ type: ModelDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): ModelDto {
    return this.models.get(principal, id);
  }
}
