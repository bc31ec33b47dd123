import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  BooleanField,
  EnumField,
  ModelIdField,
  NestedObjectField,
  Satisfies,
  StringField,
} from '../../common/validation/field.decorators.js';
import { IMAGE_SIZE_TIERS, type ImageSizeTier } from '../../config/models.catalogue.js';

export const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;
export const ROLES = ['system', 'developer', 'user', 'assistant'] as const;

/**
 * What is wrong with a message's `content` (undefined: nothing): a string, or parts
 * `{type:"text",text}` / `{type:"image_url",image_url:{url}}`.
 */
export function describeContentProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.length === 0) return 'must not be empty';
    return value.length <= 1_000_000 ? undefined : 'is longer than 1000000 characters';
  }
  if (!Array.isArray(value)) return 'must be a string or an array of content parts';
  if (value.length === 0) return 'must not be an empty array';
  for (const [i, part] of value.entries()) {
    if (typeof part !== 'object' || part === null) return `[${i}] must be an object`;
    const { type, text, image_url: imageUrl, ...rest } = part as Record<string, unknown>;
    if (type === 'text') {
      if (typeof text !== 'string') return `[${i}].text must be a string`;
      if (text.length === 0) return `[${i}].text must not be empty`;
      if (imageUrl !== undefined || Object.keys(rest).length > 0) return `[${i}] has unknown fields for a text part`;
    } else if (type === 'image_url') {
      if (typeof imageUrl !== 'object' || imageUrl === null) return `[${i}].image_url must be an object with a url`;
      const { url, detail, ...others } = imageUrl as Record<string, unknown>;
      if (typeof url !== 'string' || url.length === 0) return `[${i}].image_url.url must be a string`;
      if (detail !== undefined && !['auto', 'low', 'high'].includes(detail as string))
        return `[${i}].image_url.detail must be auto, low or high`;
      if (Object.keys(others).length > 0 || text !== undefined || Object.keys(rest).length > 0)
        return `[${i}] has unknown fields for an image_url part`;
    } else {
      return `[${i}].type must be text or image_url`;
    }
  }
  return undefined;
}

export type ChatContent =
  string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: string } }>;

export class ChatMessageDto {
  @EnumField(ROLES, { description: 'Who says it (developer is treated as system)', example: 'user', required: true })
  role!: (typeof ROLES)[number];

  @ApiProperty({
    description:
      'Text, or parts: {type:"text",text} and {type:"image_url",image_url:{url}} (user messages only). An image url is a data URL ' +
      '(data:image/png|jpeg|webp;base64,…, at most 7 MB); an http(s) URL only where the server enables REMOTE_IMAGE_URLS, and then ' +
      'Easel fetches it (public addresses only, at most 3 redirects, a PNG, JPEG or WebP of at most 7 MB); otherwise 400 on that part.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }],
    example: 'Draw a lighthouse at dusk in watercolour',
  })
  @IsDefined({ message: 'content is required' })
  @Satisfies('isChatContent', describeContentProblem)
  content!: ChatContent;

  @StringField({
    description: 'An optional participant name (ignored by image models)',
    example: 'alice',
    min: 1,
    max: 64,
  })
  name?: string;
}

export class ImageConfigDto {
  @EnumField(ASPECT_RATIOS, { description: 'Aspect ratio of generated images', example: '16:9' })
  aspect_ratio?: (typeof ASPECT_RATIOS)[number];

  @EnumField(IMAGE_SIZE_TIERS, {
    description: 'Resolution tier of generated images (models whose capabilities list image_sizes); default 1K',
    example: '2K',
  })
  image_size?: ImageSizeTier;
}

export class StreamOptionsDto {
  @BooleanField({ description: 'Send a last chunk with usage (choices: [])', example: true })
  include_usage?: boolean;
}

/**
 * An optional number in `min..max` (a whole one with `integer`): chat's sampling and length
 * parameters, documented as plain numbers and checked bounds first, as they always have been.
 */
const ChatNumberField = ({
  min,
  max,
  integer,
  ...doc
}: {
  min: number;
  max: number;
  integer?: boolean;
  example: number;
  default?: number;
  description?: string;
}) =>
  applyDecorators(
    ApiPropertyOptional({ minimum: min, maximum: max, ...doc }),
    IsOptional(),
    Max(max),
    Min(min),
    integer ? IsInt() : IsNumber({ allowNaN: false, allowInfinity: false }),
  );

/** `POST /v1/chat/completions`, OpenAI's chat format plus `modalities` and `image_config`. */
export class CreateChatCompletionDto {
  @ModelIdField('chat')
  model!: string;

  @ApiProperty({ type: [ChatMessageDto], description: 'The conversation, 1..100 messages' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsObject({ each: true, message: 'each message must be an object with role and content' })
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  @IsDefined({ message: 'messages is required' })
  messages!: ChatMessageDto[];

  @ApiPropertyOptional({
    description: 'What to answer with; image models default to ["image","text"]',
    example: ['image', 'text'],
    isArray: true,
    enum: ['image', 'text'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(['image', 'text'], { each: true, message: 'modalities may contain only image and text' })
  modalities?: Array<'image' | 'text'>;

  @NestedObjectField(ImageConfigDto)
  image_config?: ImageConfigDto;

  @BooleanField({ description: 'Stream chat.completion.chunk server-sent events', example: false, default: false })
  stream?: boolean;

  @NestedObjectField(StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @ChatNumberField({ min: 0, max: 2, example: 1 })
  temperature?: number;

  @ChatNumberField({ min: 0, max: 1, example: 0.95 })
  top_p?: number;

  @ChatNumberField({
    integer: true,
    min: 1,
    max: 32768,
    example: 1024,
    description: 'Deprecated alias of max_completion_tokens',
  })
  max_tokens?: number;

  @ChatNumberField({ integer: true, min: 1, max: 32768, example: 1024 })
  max_completion_tokens?: number;

  @ChatNumberField({ integer: true, min: 1, max: 8, default: 1, example: 1, description: 'Choices to generate' })
  n?: number;

  @StringField({ description: 'Your end-user id, stored with usage', example: 'user-1234', min: 1, max: 256 })
  user?: string;
}
