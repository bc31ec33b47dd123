import { Controller, Get, Headers, Param, Query, Res, StreamableFile } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPartialContentResponse,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { parseRangeHeader } from './byte-range.js';
import { ImageFileParams, ImageFileQuery } from './dto/image-file.dto.js';
import { ImageStore } from './image.store.js';

@ApiTags('images')
@Controller('v1/images/files')
export class ImageFilesController {
  constructor(private readonly store: ImageStore) {}

  @Get(':file')
  @Public()
  @ApiOperation({
    summary: 'Download a generated image by its signed URL (no API key needed until it expires)',
    description:
      'Cacheable until the URL expires; refusals are never cached. One byte range (`Range: bytes=…`) is honoured ' +
      'with 206; other or malformed ranges get the whole image.',
  })
  @ApiHeader({ name: 'range', required: false, description: 'One byte range, e.g. `bytes=0-1023`' })
  @ApiProduces('image/png', 'image/jpeg', 'image/webp')
  @ApiOkResponse({ description: 'The image bytes', schema: { type: 'string', format: 'binary' } })
  @ApiPartialContentResponse({ description: 'The requested byte range', schema: { type: 'string', format: 'binary' } })
  @ApiForbiddenResponse({ description: 'Bad signature or expired URL', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'No such image', type: ErrorResponseDto })
  @ApiResponse({ status: 416, description: 'The range lies outside the image', type: ErrorResponseDto })
  async download(
    @Param() params: ImageFileParams,
    @Query() query: ImageFileQuery,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const file = await this.store.open(params.file, query.expires, query.sig, parseRangeHeader(range));
    const lifetime = Math.max(0, query.expires - Math.floor(Date.now() / 1000));
    void reply.headers({ 'cache-control': `private, max-age=${lifetime}, immutable`, 'accept-ranges': 'bytes' });
    if (!file.range) return new StreamableFile(file.body, { type: file.contentType, length: file.size });
    void reply.status(206).header('content-range', `bytes ${file.range.start}-${file.range.end}/${file.size}`);
    return new StreamableFile(file.body, { type: file.contentType, length: file.range.end - file.range.start + 1 });
  }
}
