import type { Type } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';

/** OpenAI's list envelope: `export class ThingListResponse extends ListResponse(ThingResponse) {}`. */
export function ListResponse<T>(item: Type<T>): Type<{ object: 'list'; data: T[] }> {
  class List {
    @ApiProperty({ example: 'list' })
    object!: 'list';

    @ApiProperty({ type: [item] })
    data!: T[];
  }
  return List;
}
