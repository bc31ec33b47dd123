import { applyDecorators } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto.js';

/** The error responses of a /v1 generation route, documented once (SPEC §4). */
export const ApiGenerationErrors = (badRequest: string) =>
  applyDecorators(
    ApiBadRequestResponse({ description: badRequest, type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: 'The key may not use this model', type: ErrorResponseDto }),
    ApiNotFoundResponse({ description: 'Unknown model', type: ErrorResponseDto }),
    ApiConflictResponse({ description: 'The Idempotency-Key was used with another body', type: ErrorResponseDto }),
    ApiTooManyRequestsResponse({
      description: 'Rate limit (rate_limit_exceeded, Retry-After) or budget (insufficient_quota)',
      type: ErrorResponseDto,
    }),
    ApiBadGatewayResponse({ description: 'The upstream failed after retries and fallback', type: ErrorResponseDto }),
    ApiServiceUnavailableResponse({
      description: 'The model is not configured on this server',
      type: ErrorResponseDto,
    }),
    ApiGatewayTimeoutResponse({ description: 'The upstream timed out', type: ErrorResponseDto }),
  );
