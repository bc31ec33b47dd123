import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import {
  BooleanField,
  EnumField,
  IntField,
  ModelIdField,
  StringField,
} from '../../common/validation/field.decorators.js';
import { IMAGE_QUALITIES, IMAGE_SIZE_TIERS, type ImageSizeTier } from '../../config/models.catalogue.js';

export const RESPONSE_FORMATS = ['url', 'b64_json'] as const;
export const QUALITIES = IMAGE_QUALITIES;
export const BACKGROUNDS = ['auto', 'transparent', 'opaque'] as const;
export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export const MODERATIONS = ['auto', 'low'] as const;

/** `POST /v1/images/generations`, as OpenAI spells it. Model-dependent limits: `ImageRequestValidator`. */
export class CreateImageDto {
  @ModelIdField('images')
  model!: string;

  @StringField({
    description: 'What to draw (a model may allow fewer than 32000 characters)',
    example: 'A watercolour otter reading a newspaper',
    required: true,
    min: 1,
    max: 32000,
  })
  prompt!: string;

  @IntField({ description: 'How many images (a model may allow fewer)', example: 1, default: 1, min: 1, max: 10 })
  n?: number;

  @ApiProperty({
    description: '`auto` or `WxH`, one of the sizes the model lists in GET /v1/models',
    example: '1024x1024',
    default: 'auto',
    required: false,
  })
  @IsOptional()
  @IsString()
  @Matches(/^(auto|\d{1,5}x\d{1,5})$/, { message: 'size must be auto or WIDTHxHEIGHT, such as 1024x1024' })
  size?: string;

  @EnumField(QUALITIES, {
    description: 'Rendering quality (xhigh and max: the models that list them)',
    example: 'medium',
    default: 'auto',
  })
  quality?: (typeof QUALITIES)[number];

  @EnumField(IMAGE_SIZE_TIERS, {
    description:
      "Output resolution tier, Easel's extension for models whose capabilities list image_sizes (Gemini's imageSize); `size` still picks the aspect ratio. Default: the model's 1K",
    example: '2K',
  })
  image_size?: ImageSizeTier;

  @EnumField(RESPONSE_FORMATS, {
    description: '`url`: a signed link Easel serves (expires); `b64_json`: the bytes inline',
    example: 'b64_json',
    default: 'url',
  })
  response_format?: (typeof RESPONSE_FORMATS)[number];

  @EnumField(BACKGROUNDS, {
    description: '`transparent` needs output_format png or webp',
    example: 'auto',
    default: 'auto',
  })
  background?: (typeof BACKGROUNDS)[number];

  @EnumField(OUTPUT_FORMATS, { description: 'Image format', example: 'jpeg', default: 'png' })
  output_format?: (typeof OUTPUT_FORMATS)[number];

  @IntField({ description: 'Compression 0..100 (jpeg and webp only)', example: 80, min: 0, max: 100 })
  output_compression?: number;

  @EnumField(MODERATIONS, { description: 'Upstream moderation strictness', example: 'auto', default: 'auto' })
  moderation?: (typeof MODERATIONS)[number];

  @StringField({ description: 'Your end-user id, stored with usage', example: 'user-1234', min: 1, max: 256 })
  user?: string;

  @BooleanField({
    description: 'Stream server-sent events (models that support streaming)',
    example: true,
    default: false,
  })
  stream?: boolean;

  @IntField({ description: 'Partial images to stream, 0..3 (only with stream)', example: 1, min: 0, max: 3 })
  partial_images?: number;
}
