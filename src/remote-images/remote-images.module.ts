import { Module } from '@nestjs/common';
import { RemoteImageFetcher } from './remote-image.fetcher.js';

/** Input images named by `http(s)` URL (`REMOTE_IMAGE_URLS`), for chat and image edits. */
@Module({
  providers: [RemoteImageFetcher],
  exports: [RemoteImageFetcher],
})
export class RemoteImagesModule {}
