import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { MAX_THUMBNAIL_INDEX } from '../thumbnail.recorder.js';

/** What an `x-request-id` may be (`requestIdOf`, src/common/http/client-errors.ts), so what a usage record's `request_id` is. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `…/records/:request_id/thumbnails/:index`. */
export class ThumbnailParams {
  @ApiProperty({
    description: "The usage record's `request_id` (the request's `x-request-id`)",
    example: 'req_5b0f6c1d2e3f4a5b6c7d8e9f0a1b2c3d',
    pattern: REQUEST_ID.source,
  })
  @Matches(REQUEST_ID, {
    message: 'request_id must be a request id: 1 to 128 letters, digits, ".", "_", ":" or "-"',
  })
  request_id!: string;

  @ApiProperty({
    description:
      "The image's position in the answer, from 0: `data[index]` of an images answer; a chat answer's images counted across its choices in order",
    type: 'integer',
    minimum: 0,
    maximum: MAX_THUMBNAIL_INDEX,
    example: 0,
  })
  // Plain decimal digits only: "1e2", "0x1", "1.0", " 1" stay strings and fail.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value,
  )
  @IsInt({ message: `index must be a whole number from 0 to ${MAX_THUMBNAIL_INDEX}` })
  @Min(0, { message: `index must be a whole number from 0 to ${MAX_THUMBNAIL_INDEX}` })
  @Max(MAX_THUMBNAIL_INDEX, { message: `index must be a whole number from 0 to ${MAX_THUMBNAIL_INDEX}` })
  index!: number;
}

/** The team route takes no query parameter: any is 400, named. */
export class ThumbnailQuery {}

/**
 * The admin route's one parameter: request ids are the clients' (`x-request-id`), so two teams
 * may have used one; `team` (the record's) says whose preview. Without it, the newest.
 */
export class AdminThumbnailQuery {
  @ApiPropertyOptional({
    description: "The record's team (two teams may have sent one x-request-id)",
    example: 'growth',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  team?: string;
}
