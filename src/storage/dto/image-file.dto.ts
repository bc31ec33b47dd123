import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Min } from 'class-validator';

export class ImageFileParams {
  @ApiProperty({ description: 'Image id and extension', example: 'Yk3d0bq9Qm2n8Zx1Lr5tWa.png' })
  @Matches(/^[A-Za-z0-9_-]{16,64}\.(png|jpeg|webp)$/, { message: 'file is not an image file name' })
  file!: string;
}

export class ImageFileQuery {
  @ApiProperty({ description: 'Unix time (seconds) when the URL expires', example: 1795000000 })
  @Type(() => Number)
  @IsInt()
  @Min(0)
  expires!: number;

  @ApiProperty({ description: 'HMAC signature of the file name and expiry', example: 'q1Vd…' })
  @IsString()
  sig!: string;
}
