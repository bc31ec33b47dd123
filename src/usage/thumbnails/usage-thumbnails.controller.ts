import { applyDecorators, Get, Param, Query, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCookieAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminController, CurrentPrincipal, V1Controller } from '../../auth/auth.decorators.js';
import type { Principal } from '../../auth/principal.js';
import { ErrorResponseDto } from '../../common/errors/error-response.dto.js';
import { AdminThumbnailQuery, ThumbnailParams, ThumbnailQuery } from './dto/thumbnail.params.js';
import { THUMBNAIL_CONTENT_TYPE } from './thumbnail.image.js';
import type { StoredThumbnail } from './usage-thumbnail.repository.js';
import { UsageThumbnailsService } from './usage-thumbnails.service.js';

/**
 * Not kept by the browser: a preview is read on a session (signed out, or another team signed in
 * on the same browser, it must not show), and it is a few kB, read when a request is opened.
 */
const CACHE_CONTROL = 'private, no-store';

/** The Swagger of both thumbnail routes: `image/webp`, its headers, 400 and 404 in OpenAI's shape. */
const ThumbnailEndpoint = (summary: string) =>
  applyDecorators(
    ApiOperation({
      summary,
      description:
        "A 128 px WebP preview (longest side; aspect ratio and transparency kept) of one image of a request, stored when CONSOLE_THUMBNAILS=true and kept as long as the request's usage record (USAGE_RETENTION_MONTHS). For the console's request log: `<img src>` with the session cookie.",
    }),
    ApiProduces(THUMBNAIL_CONTENT_TYPE),
    ApiOkResponse({
      description: 'The preview (image/webp)',
      content: { [THUMBNAIL_CONTENT_TYPE]: { schema: { type: 'string', format: 'binary' } } },
      headers: {
        'cache-control': { description: CACHE_CONTROL, schema: { type: 'string', example: CACHE_CONTROL } },
        'x-content-type-options': { description: 'nosniff', schema: { type: 'string', example: 'nosniff' } },
      },
    }),
    ApiBadRequestResponse({
      description: 'request_id is not a request id, index not a whole number 0..999, or a query parameter was given',
      type: ErrorResponseDto,
    }),
    ApiNotFoundResponse({ description: 'No such preview (resource_not_found)', type: ErrorResponseDto }),
  );

/** The stored bytes as the answer, with the headers of a preview. */
function thumbnailReply(thumbnail: StoredThumbnail, reply: FastifyReply): StreamableFile {
  void reply.header('cache-control', CACHE_CONTROL);
  return new StreamableFile(thumbnail.bytes, { type: thumbnail.contentType, length: thumbnail.bytes.length });
}

/** The previews of any team's requests, for the admin console. */
@AdminController('admin/usage/records')
export class UsageThumbnailsAdminController {
  constructor(private readonly thumbnails: UsageThumbnailsService) {}

  @Get(':request_id/thumbnails/:index')
  @ThumbnailEndpoint("Preview of an image a request generated (any team's)")
  async thumbnail(
    @Param() params: ThumbnailParams,
    @Query() query: AdminThumbnailQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    return thumbnailReply(await this.thumbnails.read(params.request_id, params.index, query.team), reply);
  }
}

/** The previews of the calling key's team's requests; another team's are 404 like missing ones. */
@V1Controller('usage')
@ApiCookieAuth('console')
export class UsageThumbnailsV1Controller {
  constructor(private readonly thumbnails: UsageThumbnailsService) {}

  @Get('records/:request_id/thumbnails/:index')
  @ThumbnailEndpoint("Preview of an image a request of the calling key's team generated")
  async thumbnail(
    @CurrentPrincipal() principal: Principal,
    @Param() params: ThumbnailParams,
    @Query() _query: ThumbnailQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    return thumbnailReply(await this.thumbnails.read(params.request_id, params.index, principal.team), reply);
  }
}
