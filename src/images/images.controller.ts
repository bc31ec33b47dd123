import { Body, Controller, HttpCode, Post, Res, UseInterceptors } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiKeyAuth, CurrentPrincipal } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiGenerationErrors } from '../common/errors/api-errors.decorator.js';
import { Ctx, RequestContext } from '../common/http/request-context.js';
import { easelStreamOptions, sendEventStream } from '../common/http/sse.js';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor.js';
import { CreateImageDto } from './dto/create-image.dto.js';
import { ImagesResponseDto } from './dto/images.response.js';
import { ImagesService } from './images.service.js';

@ApiTags('images')
@ApiKeyAuth()
@Controller('v1/images')
export class ImagesController {
  constructor(private readonly images: ImagesService) {}

  @Post('generations')
  @HttpCode(200)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key and body within 24 h: the first result again, no second upstream call or charge (not with stream)',
  })
  @ApiOperation({
    summary: 'Create images from a prompt (OpenAI Images API)',
    description:
      'With `stream: true` (models that stream) the answer is `text/event-stream`: `image_generation.partial_image` events (`partial_images` of them per image), then `image_generation.completed` with `usage`.',
  })
  @ApiHeader({ name: 'x-request-id', required: false, description: 'Echoed back; generated when absent' })
  @ApiOkResponse({
    type: ImagesResponseDto,
    headers: {
      'x-request-id': { description: 'The request id', schema: { type: 'string' } },
      'x-easel-cost-usd': { description: "This request's cost in USD", schema: { type: 'string', example: '0.04224' } },
    },
  })
  @ApiGenerationErrors('Invalid field, unknown field, bad JSON or a refused prompt')
  async generate(
    @Body() body: CreateImageDto,
    @CurrentPrincipal() principal: Principal,
    @Ctx() context: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ImagesResponseDto | undefined> {
    if (!body.stream) return this.images.generate(body, principal, context);
    await sendEventStream(
      reply,
      this.images.generateStream(body, principal, context),
      easelStreamOptions(context, (data) => ({ event: 'error', data })),
    );
    return undefined;
  }
}
