import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { EnumField, NestedObjectField, StringField } from '../../common/validation/field.decorators.js';
import { CreateImageDto } from './create-image.dto.js';

export const INPUT_FIDELITIES = ['high', 'low'] as const;
/** The most images any model takes in one edit (the catalogue's `max_input_images` is at most this). */
export const MAX_EDIT_IMAGES = 16;
/** OpenAI's limit on an `image_url` (a 15 MB image as a base64 data URL). */
const MAX_IMAGE_URL_CHARS = 20_971_520;
/** An 8x8 transparent PNG: an example that works as an image and as its mask. */
const EXAMPLE_IMAGE_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAYAAADED76LAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAADklEQVQYlWNgGAWgEAAAAQgAAa5MwN8AAAAASUVORK5CYII=';

/**
 * The fields of `POST /v1/images/edits` other than its images: those of a generation plus
 * `input_fidelity`. Multipart text fields are converted to these types before validation, so
 * both bodies are judged by the same rules and answer the same errors.
 */
export class CreateImageEditDto extends CreateImageDto {
  @EnumField(INPUT_FIDELITIES, {
    description: 'How closely to keep the input images’ features (models whose capabilities say input_fidelity)',
    example: 'high',
    default: 'low',
  })
  input_fidelity?: (typeof INPUT_FIDELITIES)[number];
}

/** An input image of a JSON edit, by URL. */
export class ImageRefDto {
  @StringField({
    description:
      'A data URL (data:image/png|jpeg|webp;base64,…); an http(s) URL only where the server enables REMOTE_IMAGE_URLS',
    example: EXAMPLE_IMAGE_URL,
    min: 1,
    max: MAX_IMAGE_URL_CHARS,
  })
  image_url?: string;

  /** OpenAI's other way to name an image; known only to be refused clearly (Easel keeps no files), so not documented. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  file_id?: string;
}

/** `POST /v1/images/edits` as `application/json` (OpenAI's `EditImageBodyJsonParam`). */
export class CreateImageEditJsonDto extends CreateImageEditDto {
  @ApiProperty({
    type: [ImageRefDto],
    description: `The images to edit, 1..${MAX_EDIT_IMAGES} (a model may take fewer); a mask applies to the first`,
  })
  @IsDefined({ message: 'images is required' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EDIT_IMAGES)
  @IsObject({ each: true, message: 'each image must be an object with image_url' })
  @ValidateNested({ each: true })
  @Type(() => ImageRefDto)
  images!: ImageRefDto[];

  @NestedObjectField(ImageRefDto)
  mask?: ImageRefDto;
}

/**
 * `POST /v1/images/edits` as `multipart/form-data`, for the API docs only (the form is read by
 * `MultipartFormReader` and its text fields validated as `CreateImageEditDto`).
 */
export class CreateImageEditFormDto extends CreateImageEditDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'string', format: 'binary' },
    description: `The images to edit: one \`image\` file, or repeated \`image\` or \`image[]\` files (1..${MAX_EDIT_IMAGES}; PNG, JPEG or WebP, judged by their bytes)`,
  })
  image!: unknown[];

  @ApiPropertyOptional({
    type: 'string',
    format: 'binary',
    description:
      'A PNG with an alpha channel, the size of the first image: its fully transparent pixels mark what to change',
  })
  mask?: unknown;
}
