import { ParseUUIDPipe } from '@nestjs/common';
import { InvalidRequestError } from '../errors/gateway.error.js';

/** Path ids are UUIDs; anything else is a 400 naming the parameter. */
export const uuidPipe = new ParseUUIDPipe({
  exceptionFactory: () => new InvalidRequestError('id must be a UUID.', 'id'),
});
