import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  type ApiResponseNoStatusOptions,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto.js';

/** The error statuses a route may document besides its controller's authentication ones. */
const ERROR_RESPONSES = {
  400: ApiBadRequestResponse,
  403: ApiForbiddenResponse,
  404: ApiNotFoundResponse,
} as const;

export interface EndpointDoc {
  /** The body of the 200 answer (or the whole response, when it needs a description)… */
  ok?: Type<unknown> | ApiResponseNoStatusOptions;
  /** …or of the 201 answer of a route that creates something. */
  created?: Type<unknown>;
  /** The error statuses the route may answer, each with OpenAI's error body. */
  errors?: (keyof typeof ERROR_RESPONSES)[];
}

/** A route's documentation in one place: what it does, what it answers, which errors it may answer. */
export const ApiEndpoint = (summary: string, { ok, created, errors = [] }: EndpointDoc) =>
  applyDecorators(
    ApiOperation({ summary }),
    created ? ApiCreatedResponse({ type: created }) : ApiOkResponse(typeof ok === 'function' ? { type: ok } : ok),
    ...errors.map((status) => ERROR_RESPONSES[status]({ type: ErrorResponseDto })),
  );
