import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { ApiKeyAuthenticator } from './api-key.authenticator.js';
import { ApiKeyResolver, bearerToken } from './api-key.resolver.js';
import { type Access, ACCESS_KEY, type AuthenticatedRequest } from './auth.decorators.js';

/**
 * Global guard, deny by default: every route needs a valid key unless marked `@Public()`;
 * `@AdminOnly()` routes need an admin key; admin keys manage Easel and do not call `/v1`.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly resolver: ApiKeyResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (access === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // Resolved already by ApiKeyResolver before the body was read (/v1, /admin); otherwise the
    // console's session cookie where it counts, else the bearer key (which throws the 401).
    const principal =
      request.principal ??
      (await this.resolver.sessionPrincipal(request)) ??
      (await this.authenticator.authenticate(bearerToken(request.headers.authorization)));
    if (access === 'admin' && !principal.isAdmin) {
      throw new GatewayError(ErrorCode.PermissionDenied, 'This route needs an admin key.');
    }
    if (access !== 'admin' && principal.isAdmin) {
      throw new GatewayError(
        ErrorCode.PermissionDenied,
        'Admin keys manage Easel and cannot call this route; create an API key with POST /admin/keys.',
      );
    }
    request.principal = principal;
    return true;
  }
}
