import { ApiProperty } from '@nestjs/swagger';
import { ListResponse } from '../../../common/http/list.response.js';
import { formatUsd, type UsdDigits } from '../../../common/money/usd.js';
import { NestedObjectField, UsdField } from '../../../common/validation/field.decorators.js';
import type { CurrentPrice } from '../price-book.service.js';

/**
 * A price has six decimals, as its numeric(18,6) column, and at most six digits before the point
 * although the column holds twelve: the cost of one request (up to ten images, millions of tokens)
 * must fit the numeric(20,12) cost and spend columns, whose largest value is 99,999,999.99….
 */
export const PRICE_DIGITS: UsdDigits = { integer: 6, fraction: 6 };

export class TokenPricesDto {
  @UsdField({ description: 'USD per 1M text input tokens', example: '5.00', digits: PRICE_DIGITS, nullable: false })
  input_text?: string;

  @UsdField({
    description: 'USD per 1M cached text input tokens',
    example: '1.25',
    digits: PRICE_DIGITS,
    nullable: false,
  })
  input_text_cached?: string;

  @UsdField({ description: 'USD per 1M image input tokens', example: '10.00', digits: PRICE_DIGITS, nullable: false })
  input_image?: string;

  @UsdField({
    description: 'USD per 1M cached image input tokens',
    example: '2.50',
    digits: PRICE_DIGITS,
    nullable: false,
  })
  input_image_cached?: string;

  @UsdField({ description: 'USD per 1M text output tokens', example: '0', digits: PRICE_DIGITS, nullable: false })
  output_text?: string;

  @UsdField({ description: 'USD per 1M image output tokens', example: '40.00', digits: PRICE_DIGITS, nullable: false })
  output_image?: string;
}

/** A new price version; kinds left out keep their current price (null is not a price). */
export class SetPriceDto {
  @NestedObjectField(TokenPricesDto)
  per_million_tokens?: TokenPricesDto;

  @UsdField({ description: 'USD per generated image', example: '0', digits: PRICE_DIGITS, nullable: false })
  per_image?: string;
}

class TokenPricesResponse {
  @ApiProperty({ example: '5' }) input_text!: string;
  @ApiProperty({ example: '1.25' }) input_text_cached!: string;
  @ApiProperty({ example: '10' }) input_image!: string;
  @ApiProperty({ example: '2.5' }) input_image_cached!: string;
  @ApiProperty({ example: '0' }) output_text!: string;
  @ApiProperty({ example: '40' }) output_image!: string;
}

export class PriceVersionResponse {
  @ApiProperty({ example: 'azure/openai/gpt-image-1' })
  model!: string;

  @ApiProperty({ example: 2, description: 'Usage records keep the version they were charged at' })
  version!: number;

  @ApiProperty({ type: String, format: 'date-time' })
  effective_from!: string;

  @ApiProperty({ enum: ['catalogue', 'admin'] })
  source!: string;

  @ApiProperty({ type: TokenPricesResponse })
  per_million_tokens!: TokenPricesResponse;

  @ApiProperty({ example: '0' })
  per_image!: string;

  static from(price: CurrentPrice): PriceVersionResponse {
    const p = price.prices;
    return {
      model: price.model,
      version: price.version,
      effective_from: price.effectiveFrom.toISOString(),
      source: price.source,
      per_million_tokens: {
        input_text: formatUsd(p.inputText),
        input_text_cached: formatUsd(p.inputTextCached),
        input_image: formatUsd(p.inputImage),
        input_image_cached: formatUsd(p.inputImageCached),
        output_text: formatUsd(p.outputText),
        output_image: formatUsd(p.outputImage),
      },
      per_image: formatUsd(p.perImage),
    };
  }
}

export class PriceListResponse extends ListResponse(PriceVersionResponse) {}
