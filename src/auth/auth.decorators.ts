import { applyDecorators, Controller, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiForbiddenResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import type { EaselRequest } from '../common/http/request-context.js';
import type { Principal } from './principal.js';

export const ACCESS_KEY = 'easel:access';
export type Access = 'public' | 'admin';

/** No API key needed (health, image files, docs). */
export const Public = () => SetMetadata(ACCESS_KEY, 'public' satisfies Access);

/** An admin key is required: 401 without a key, 403 with a non-admin key. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(ACCESS_KEY, 'admin' satisfies Access),
    ApiBearerAuth(),
    ApiCookieAuth('console'),
    ApiUnauthorizedResponse({ description: 'Missing or invalid key', type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: 'Not an admin key', type: ErrorResponseDto }),
  );

/** The default for every route not marked otherwise: a valid, non-admin API key. */
export const ApiKeyAuth = () =>
  applyDecorators(
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'Missing or invalid key', type: ErrorResponseDto }),
  );

/** A controller under /admin: every route needs an admin key; the docs list them under `admin`. */
export const AdminController = (path: `admin/${string}`) =>
  applyDecorators(ApiTags('admin'), AdminOnly(), Controller(path));

/** A controller of OpenAI's surface, `/v1/<resource>`: every route needs an API key; the docs list them under it. */
export const V1Controller = (resource: string) =>
  applyDecorators(ApiTags(resource), ApiKeyAuth(), Controller(`v1/${resource}`));

export type { EaselRequest as AuthenticatedRequest } from '../common/http/request-context.js';

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<EaselRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
