import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListResponse } from '../../common/http/list.response.js';

class ModelCapabilitiesDto {
  @ApiProperty({ example: ['auto', '1024x1024', '1536x1024', '1024x1536'] })
  sizes!: string[];

  @ApiProperty({ example: ['auto', 'low', 'medium', 'high'] })
  qualities!: string[];

  @ApiProperty({ example: ['auto', 'transparent', 'opaque'] })
  backgrounds!: string[];

  @ApiProperty({ example: ['png', 'jpeg'] })
  output_formats!: string[];

  @ApiProperty({ example: 10 })
  max_n!: number;

  @ApiProperty({ example: 32000 })
  max_prompt_chars!: number;

  @ApiProperty({ example: true, description: 'stream: true on /v1/images/generations (and edits, where it edits)' })
  streaming!: boolean;

  @ApiProperty({ example: 16, description: 'Input images an edit (or a chat request) may carry' })
  max_input_images!: number;

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
