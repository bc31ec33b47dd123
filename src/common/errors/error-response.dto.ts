import { ApiProperty } from '@nestjs/swagger';

class ErrorDetailDto {
  @ApiProperty({ example: "'size' must be one of the following values: auto, 1024x1024" })
  message!: string;

  @ApiProperty({
    example: 'invalid_request_error',
    enum: [
      'invalid_request_error',
      'authentication_error',
      'permission_error',
      'rate_limit_error',
      'insufficient_quota',
      'upstream_error',
      'server_error',
    ],
  })
  type!: string;

  @ApiProperty({ example: 'size', nullable: true, type: String })
  param!: string | null;

  @ApiProperty({ example: 'invalid_value', nullable: true, type: String })
  code!: string | null;
}

/** OpenAI's error envelope, the only error shape Easel sends. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}
