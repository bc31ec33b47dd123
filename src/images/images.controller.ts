import { Body } from '@nestjs/common';
import { ApiConsumes, ApiExtraModels, ApiHeader, ApiOkResponse, ApiPayloadTooLargeResponse } from '@nestjs/swagger';
import { V1Controller } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { GenerationRoute } from '../common/http/generation-route.decorator.js';
import { Ctx, RequestContext } from '../common/http/request-context.js';
import { jsonOrEventStream } from '../common/http/sse.js';
import { IdempotencyGate } from '../idempotency/idempotency.gate.js';
import { Idempotent } from '../idempotency/idempotent.decorator.js';
import { CreateImageDto } from './dto/create-image.dto.js';
import { CreateImageEditFormDto, CreateImageEditJsonDto } from './dto/create-image-edit.dto.js';
import { ImagesResponseDto } from './dto/images.response.js';
import { EditRequest, fingerprintOf, type ImageEditBody, ImageEditBodyPipe } from './edits/image-edit.body.js';
import { ImagesService } from './images.service.js';

const IMAGE_RESPONSE_HEADERS = {
  'x-request-id': { description: 'The request id', schema: { type: 'string' } },
  'x-easel-cost-usd': { description: "This request's cost in USD", schema: { type: 'string', example: '0.04224' } },
};

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
  @ApiOkResponse({ type: ImagesResponseDto, headers: IMAGE_RESPONSE_HEADERS })
  async generate(@Body() body: CreateImageDto, @Ctx() context: RequestContext): Promise<ImagesResponseDto | undefined> {
    return this.idempotency.run(context, () =>
      jsonOrEventStream(body.stream, context, {
        json: () => this.images.generate(body, context),
        events: () => this.images.generateStream(body, context),
        errorEvent: (data) => ({ event: 'error', data }),
      }),
    );
  }

  @GenerationRoute('edits', {
    summary: 'Edit images with a prompt (OpenAI Images API)',
    description:
      'The images to edit (and a mask) as `multipart/form-data`, exactly as the OpenAI SDKs send them: one `image` file, ' +
      'repeated `image` files or `image[]` files, PNG, JPEG or WebP judged by their bytes, each at most UPLOAD_MAX_FILE_BYTES ' +
      '(default 25 MB) and all together at most UPLOAD_MAX_TOTAL_BYTES (100 MB). Or as JSON with `images: [{ image_url }]` ' +
      '(data URLs; http(s) URLs where REMOTE_IMAGE_URLS is on) and `mask: { image_url }`. Models that edit, how many images ' +
      'they take and whether they take a mask: GET /v1/models (`capabilities.edits`, `max_input_images`, `mask`). ' +
      'With `stream: true`: `image_edit.partial_image` events, then `image_edit.completed` with `usage`.',
    badRequest:
      'Invalid field, unknown field, an image that is not a PNG, JPEG or WebP, a mask the model does not take or of the wrong size',
  })
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiExtraModels(CreateImageEditFormDto, CreateImageEditJsonDto)
  @Idempotent()
  @ApiHeader({ name: 'x-request-id', required: false, description: 'Echoed back; generated when absent' })
  @ApiPayloadTooLargeResponse({
    description: 'An image over UPLOAD_MAX_FILE_BYTES, or all of them over UPLOAD_MAX_TOTAL_BYTES (file_too_large)',
    type: ErrorResponseDto,
  })
  @ApiOkResponse({ type: ImagesResponseDto, headers: IMAGE_RESPONSE_HEADERS })
  async edit(
    @EditRequest(ImageEditBodyPipe) body: ImageEditBody,
    @Ctx() context: RequestContext,
  ): Promise<ImagesResponseDto | undefined> {
    const { fields } = body;
    return this.idempotency.run(
      context,
      () =>
        jsonOrEventStream(fields.stream, context, {
          json: () => this.images.edit(body, context),
          events: () => this.images.editStream(body, context),
          errorEvent: (data) => ({ event: 'error', data }),
        }),
      { stream: fields.stream === true, fingerprint: () => fingerprintOf(body) },
    );
  }
}
