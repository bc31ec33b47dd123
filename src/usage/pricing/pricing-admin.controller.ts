import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly } from '../../auth/auth.decorators.js';
import { ErrorResponseDto } from '../../common/errors/error-response.dto.js';
import { PriceListResponse, PriceVersionResponse, SetPriceDto } from './dto/pricing.dto.js';
import { PriceBook } from './price-book.service.js';

@ApiTags('admin')
@AdminOnly()
@Controller('admin/pricing')
export class PricingAdminController {
  constructor(private readonly prices: PriceBook) {}

  @Get()
  @ApiOperation({ summary: 'The price version in force for every model' })
  @ApiOkResponse({ type: PriceListResponse })
  list(): PriceListResponse {
    return { object: 'list', data: this.prices.list().map(PriceVersionResponse.from) };
  }

  @Get(':model')
  @ApiOperation({ summary: "A model's price versions, newest first (model id URL-encoded)" })
  @ApiParam({ name: 'model', example: 'azure%2Fopenai%2Fgpt-image-1' })
  @ApiOkResponse({ type: PriceListResponse })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async history(@Param('model') model: string): Promise<PriceListResponse> {
    return { object: 'list', data: (await this.prices.history(model)).map(PriceVersionResponse.from) };
  }

  @Put(':model')
  @ApiOperation({ summary: 'Set prices from now on (a new version; earlier records keep their cost)' })
  @ApiParam({ name: 'model', example: 'azure%2Fopenai%2Fgpt-image-1' })
  @ApiOkResponse({ type: PriceVersionResponse })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async set(@Param('model') model: string, @Body() body: SetPriceDto): Promise<PriceVersionResponse> {
    const tokens = body.per_million_tokens ?? {};
    const version = await this.prices.setPrice(model, {
      inputText: tokens.input_text,
      inputTextCached: tokens.input_text_cached,
      inputImage: tokens.input_image,
      inputImageCached: tokens.input_image_cached,
      outputText: tokens.output_text,
      outputImage: tokens.output_image,
      perImage: body.per_image,
    });
    return PriceVersionResponse.from(version);
  }
}
