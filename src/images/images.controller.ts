import { Body } from '@nestjs/common';
import { ApiHeader, ApiOkResponse } from '@nestjs/swagger';
import { V1Controller } from '../auth/auth.decorators.js';
import { GenerationRoute } from '../common/http/generation-route.decorator.js';
import { Ctx, RequestContext } from '../common/http/request-context.js';
import { jsonOrEventStream } from '../common/http/sse.js';
import { IdempotencyGate } from '../idempotency/idempotency.gate.js';
import { Idempotent } from '../idempotency/idempotent.decorator.js';
import { CreateImageDto } from './dto/create-image.dto.js';
import { ImagesResponseDto } from './dto/images.response.js';
import { ImagesService } from './images.service.js';

@V1Controller('images')
export class ImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly idempotency: IdempotencyGate,
  ) {}

  @GenerationRoute('generations', {
    summary: 'Create images from a prompt (OpenAI Images API)',
    description:
      'With `stream: true` (models that stream) the answer is `text/event-stream`: `image_generation.partial_image` events (`partial_images` of them per image), then `image_generation.completed` with `usage`.',
    badRequest: 'Invalid field, unknown field, bad JSON or a refused prompt',
  })
  @Idempotent()
  @ApiHeader({ name: 'x-request-id', required: false, description: 'Echoed back; generated when absent' })
  @ApiOkResponse({
    type: ImagesResponseDto,
    headers: {
      'x-request-id': { description: 'The request id', schema: { type: 'string' } },
      'x-easel-cost-usd': { description: "This request's cost in USD", schema: { type: 'string', example: '0.04224' } },
    },
  })
  async generate(@Body() body: CreateImageDto, @Ctx() context: RequestContext): Promise<ImagesResponseDto | undefined> {
    return this.idempotency.run(context, () =>
      jsonOrEventStream(body.stream, context, {
        json: () => this.images.generate(body, context),
        events: () => this.images.generateStream(body, context),
        errorEvent: (data) => ({ event: 'error', data }),
      }),
    );
  }
}
