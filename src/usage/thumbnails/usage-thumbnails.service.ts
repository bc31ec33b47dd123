import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import type { StoredThumbnail } from './usage-thumbnail.repository.js';
import { UsageThumbnailRepository } from './usage-thumbnail.repository.js';

/** Reads the console's previews (`usage_thumbnails`) for the thumbnail routes. */
@Injectable()
export class UsageThumbnailsService {
  constructor(private readonly repository: UsageThumbnailRepository) {}

  /**
   * The preview of image `index` of request `requestId`; with `team`, only that team's (an API
   * key's view). 404 `resource_not_found` when there is none, and, in the same words, when it is
   * another team's: the answer never tells whether another team's request exists (nor names it).
   */
  async read(requestId: string, index: number, team?: string): Promise<StoredThumbnail> {
    const thumbnail = await this.repository.find(requestId, index, team);
    if (!thumbnail) {
      throw new GatewayError(
        ErrorCode.ResourceNotFound,
        'No such preview: previews are stored when CONSOLE_THUMBNAILS=true, for requests that made images, until USAGE_RETENTION_MONTHS removes them.',
      );
    }
    return thumbnail;
  }
}
