import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { JsonText } from '../../common/json/raw-json.js';

export class ChatImageDto {
  @ApiProperty({ example: 'image_url' })
  type!: 'image_url';

  @ApiProperty({ example: { url: 'data:image/png;base64,iVBORw0KGgo…' } })
  /** `url` is a string on the wire; upstream base64 is passed through as the bytes it arrived in. */
  image_url!: { url: JsonText };

  @ApiProperty({ example: 0 })
  index!: number;
}

export class ChatMessageResponseDto {
  @ApiProperty({ example: 'assistant' })
  role!: 'assistant';

  @ApiProperty({ type: String, nullable: true, example: 'Here is your lighthouse.' })
  content!: string | null;

  @ApiPropertyOptional({ type: [ChatImageDto], description: 'Generated images as data URLs' })
  images?: ChatImageDto[];

  @ApiProperty({ type: String, nullable: true, example: null })
  refusal!: string | null;
}

export class ChatChoiceDto {
  @ApiProperty({ example: 0 })
  index!: number;

  @ApiProperty({ type: ChatMessageResponseDto })
  message!: ChatMessageResponseDto;

  @ApiProperty({ enum: ['stop', 'length', 'content_filter'], example: 'stop' })
  finish_reason!: 'stop' | 'length' | 'content_filter';

  @ApiProperty({ type: Object, nullable: true, example: null })
  logprobs!: null;
}

class PromptTokensDetailsDto {
  @ApiProperty({ example: 0 }) cached_tokens!: number;
  @ApiProperty({ example: 0 }) image_tokens!: number;
}

class CompletionTokensDetailsDto {
  @ApiProperty({ example: 1290 }) image_tokens!: number;
  @ApiProperty({ example: 0 }) reasoning_tokens!: number;
}

export class ChatUsageDto {
  @ApiProperty({ example: 12 }) prompt_tokens!: number;
  @ApiProperty({ example: 1299 }) completion_tokens!: number;
  @ApiProperty({ example: 1311 }) total_tokens!: number;
  @ApiProperty({ type: PromptTokensDetailsDto }) prompt_tokens_details!: PromptTokensDetailsDto;
  @ApiProperty({ type: CompletionTokensDetailsDto }) completion_tokens_details!: CompletionTokensDetailsDto;
  @ApiPropertyOptional({
    description: "Easel: this request's cost in USD (also x-easel-cost-usd)",
    example: '0.0387243',
  })
  cost_usd?: string;
}

export class ChatCompletionDto {
  @ApiProperty({ example: 'chatcmpl-req_5c1d…' }) id!: string;
  @ApiProperty({ example: 'chat.completion' }) object!: 'chat.completion';
  @ApiProperty({ example: 1795000000 }) created!: number;
  @ApiProperty({
    description:
      'The model that answered: the one asked for, or its successor when that one is retired and the catalogue says after_shutdown: successor (also in the x-easel-served-model header)',
    example: 'vertex/google/gemini-2.5-flash-image',
  })
  model!: string;
  @ApiProperty({ type: [ChatChoiceDto] }) choices!: ChatChoiceDto[];
  @ApiProperty({ type: ChatUsageDto }) usage!: ChatUsageDto;
}
