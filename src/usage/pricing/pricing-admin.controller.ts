import { Body, Get, Param, Put } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { AdminController } from '../../auth/auth.decorators.js';
import { ApiEndpoint } from '../../common/http/api-endpoint.decorator.js';
import { PriceListResponse, PriceVersionResponse, SetPriceDto } from './dto/pricing.dto.js';
import { PriceBook } from './price-book.service.js';

@AdminController('admin/pricing')
export class PricingAdminController {
  constructor(private readonly prices: PriceBook) {}

  @Get()
  @ApiEndpoint('The price version in force for every model', { ok: PriceListResponse })
  list(): PriceListResponse {
    return { object: 'list', data: this.prices.list().map(PriceVersionResponse.from) };
  }

  @Get(':model')
  @ApiEndpoint("A model's price versions, newest first (model id URL-encoded)", {
    ok: PriceListResponse,
    errors: [404],
  })
  @ApiParam({ name: 'model', example: 'azure%2Fopenai%2Fgpt-image-1' })
  async history(@Param('model') model: string): Promise<PriceListResponse> {
    return { object: 'list', data: (await this.prices.history(model)).map(PriceVersionResponse.from) };
  }

  @Put(':model')
  @ApiEndpoint('Set prices from now on (a new version; earlier records keep their cost)', {
    ok: PriceVersionResponse,
    errors: [400, 404],
  })
  @ApiParam({ name: 'model', example: 'azure%2Fopenai%2Fgpt-image-1' })
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
