import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { JsonText } from '../../common/json/raw-json.js';

export class ImageDataDto {
  @ApiPropertyOptional({
    description: 'Signed URL (response_format url); valid for IMAGE_URL_TTL_SECONDS',
    example: 'http://localhost:3000/v1/images/files/Yk3d0bq9Qm2n8Zx1Lr5tWa.png?expires=1795000000&sig=q1Vd…',
  })
  url?: string;

  /** A string on the wire; upstream base64 is passed through as the bytes it arrived in. */
  @ApiPropertyOptional({
    type: String,
    description: 'Base64 image bytes (response_format b64_json)',
    example: 'iVBORw0KGgo…',
  })
  b64_json?: JsonText;
}

class InputTokensDetailsDto {
  @ApiProperty({ example: 12 })
  text_tokens!: number;

  @ApiProperty({ example: 0 })
  image_tokens!: number;
}

class OutputTokensDetailsDto {
  @ApiProperty({ example: 0 })
  text_tokens!: number;

  @ApiProperty({ example: 1056 })
  image_tokens!: number;
}

export class ImagesUsageDto {
  @ApiProperty({ example: 12 })
  input_tokens!: number;

  @ApiProperty({ type: InputTokensDetailsDto })
  input_tokens_details!: InputTokensDetailsDto;

  @ApiProperty({ example: 1056 })
  output_tokens!: number;

  @ApiProperty({ type: OutputTokensDetailsDto })
  output_tokens_details!: OutputTokensDetailsDto;

  @ApiProperty({ example: 1068 })
  total_tokens!: number;
}

export class ImagesResponseDto {
  @ApiProperty({ description: 'Unix seconds', example: 1795000000 }) created!: number;
  @ApiProperty({
    description:
      "The model that made the images: the one asked for, or its successor when that one is retired and the catalogue says after_shutdown: successor (also in the x-easel-served-model header). Easel's addition to OpenAI's response",
    example: 'azure/openai/gpt-image-2',
  })
  model!: string;
  @ApiProperty({ type: [ImageDataDto] }) data!: ImageDataDto[];
  @ApiProperty({ example: 'opaque' }) background!: string;
  @ApiProperty({ example: 'png' }) output_format!: string;
  @ApiProperty({ example: 'medium' }) quality!: string;
  @ApiProperty({ example: '1024x1024' }) size!: string;
  @ApiProperty({ type: ImagesUsageDto }) usage!: ImagesUsageDto;
}
