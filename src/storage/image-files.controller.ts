import { Controller, Get, Header, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { ImageFileParams, ImageFileQuery } from './dto/image-file.dto.js';
import { ImageStore } from './image.store.js';

@ApiTags('images')
@Controller('v1/images/files')
export class ImageFilesController {
  constructor(private readonly store: ImageStore) {}

  @Get(':file')
  @Public()
  @Header('Cache-Control', 'private, max-age=3600')
  @ApiOperation({ summary: 'Download a generated image by its signed URL (no API key needed until it expires)' })
  @ApiProduces('image/png', 'image/jpeg', 'image/webp')
  @ApiOkResponse({ description: 'The image bytes', schema: { type: 'string', format: 'binary' } })
  @ApiForbiddenResponse({ description: 'Bad signature or expired URL', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'No such image', type: ErrorResponseDto })
  async download(@Param() params: ImageFileParams, @Query() query: ImageFileQuery): Promise<StreamableFile> {
    const file = await this.store.open(params.file, query.expires, query.sig);
    return new StreamableFile(file.body, { type: file.contentType, length: file.size });
  }
}
