import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListResponse } from '../../common/http/list.response.js';

class CustomSizesDto {
  @ApiProperty({ example: 16, description: 'Both edges are multiples of this' })
  multiple_of!: number;

  @ApiProperty({ example: 655360 })
  min_pixels!: number;

  @ApiProperty({ example: 8294400 })
  max_pixels!: number;

  @ApiProperty({ example: 3840, description: 'No edge longer than this' })
  max_edge!: number;

  @ApiProperty({ example: 3, description: 'The long edge at most this many times the short one' })
  max_aspect_ratio!: number;
}

/**
 * What a request to the model may ask for: the catalogue's capabilities as the validation
 * enforces them, so a client can build its form from them.
 */
class ModelCapabilitiesDto {
  @ApiProperty({ example: ['auto', '1024x1024', '1536x1024', '1024x1536'], description: 'Sizes always accepted' })
  sizes!: string[];

  @ApiProperty({
    type: CustomSizesDto,
    nullable: true,
    description: 'When set, any other WIDTHxHEIGHT within these rules is accepted too',
  })
  custom_sizes!: CustomSizesDto | null;

  @ApiProperty({ example: ['auto', 'low', 'medium', 'high'] })
  qualities!: string[];

  @ApiProperty({ example: ['auto', 'transparent', 'opaque'] })
  backgrounds!: string[];

  @ApiProperty({ example: ['png', 'jpeg'] })
  output_formats!: string[];

  @ApiProperty({ example: true, description: 'Takes output_compression (jpeg, webp)' })
  output_compression!: boolean;

  @ApiProperty({ example: true, description: 'Takes moderation' })
  moderation!: boolean;

  @ApiProperty({ example: 10, description: 'The largest n' })
  max_n!: number;

  @ApiProperty({ example: 32000 })
  max_prompt_chars!: number;

  @ApiPropertyOptional({ example: 4096, description: 'The largest max_tokens on chat, when below 32,768' })
  max_output_tokens?: number;

  @ApiProperty({
    example: ['1K', '2K', '4K'],
    description: 'Resolution tiers for image_size (images) and image_config.image_size (chat); empty: none',
  })
  image_sizes!: string[];

  @ApiProperty({ example: true, description: 'stream: true on /v1/images/generations (and edits, where it edits)' })
  streaming!: boolean;

  @ApiProperty({ example: 16, description: 'Input images an edit (or a chat request) may carry' })
  max_input_images!: number;

  @ApiProperty({
    example: 26214400,
    description: "The largest input image, in bytes: the model's own limit or the server's UPLOAD_MAX_FILE_BYTES",
  })
  max_input_image_bytes!: number;

  @ApiProperty({ example: true, description: 'Served on POST /v1/images/edits' })
  edits!: boolean;

  @ApiProperty({ example: true, description: 'Edits take a mask' })
  mask!: boolean;

  @ApiProperty({ example: true, description: 'Edits take input_fidelity' })
  input_fidelity!: boolean;
}

export class ModelDto {
  @ApiProperty({ example: 'azure/openai/gpt-image-1' })
  id!: string;

  @ApiProperty({ example: 'model' })
  object!: 'model';

  @ApiProperty({ description: 'Unix seconds', example: 1795000000 })
  created!: number;

  @ApiProperty({ example: 'openai' })
  owned_by!: string;

  @ApiProperty({ example: 'azure-openai' })
  provider!: string;

  @ApiProperty({ example: 'OpenAI gpt-image-1 on Azure OpenAI.' })
  description!: string;

  @ApiProperty({ example: ['images'], enum: ['images', 'chat'], isArray: true })
  endpoints!: string[];

  @ApiProperty({ description: 'false when the provider lacks its settings on this server', example: true })
  available!: boolean;

  @ApiPropertyOptional({
    description: 'Why the model is unavailable',
    example: 'set AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY',
  })
  unavailable_reason?: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2027-06-16',
    description:
      "The day the upstream retires the model (YYYY-MM-DD), as OpenAI's models list says; null when none is known",
  })
  shutdown_date!: string | null;

  @ApiProperty({ example: false, description: 'true from the deprecation date (or the shutdown date) on' })
  deprecated!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'azure/openai/gpt-image-2',
    description: 'The model to move to, when the catalogue names one',
  })
  successor!: string | null;

  @ApiProperty({ type: ModelCapabilitiesDto })
  capabilities!: ModelCapabilitiesDto;
}

export class ModelListDto extends ListResponse(ModelDto) {}
