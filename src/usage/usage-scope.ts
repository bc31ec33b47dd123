import type { Principal } from '../auth/principal.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { UsageFilterDto, UsageScope } from './dto/usage-query.dto.js';

/**
 * A `/v1/usage` query narrowed to what its caller may read: the team is always the caller's and,
 * with scope=key (the default), the key too. Naming another team, or with scope=key another key,
 * is 403 with one message whatever was named, so the answer never tells whether it exists. With
 * scope=team, `api_key` only filters within the team: an id that is not one of its keys matches
 * nothing, the same empty answer as an idle key of the team.
 */
export function scopeToCaller<Query extends UsageFilterDto & { scope?: UsageScope }>(
  principal: Principal,
  { scope = 'key', ...query }: Query,
): Omit<Query, 'scope'> {
  if (query.team !== undefined && query.team !== principal.team) {
    throw new GatewayError(ErrorCode.PermissionDenied, "An API key can read its own team's usage only.", {
      param: 'team',
    });
  }
  if (scope === 'team') return { ...query, team: principal.team };
  // Fail closed: without a key id, scope=key would read the whole team.
  if (principal.keyId === null) {
    throw new GatewayError(ErrorCode.PermissionDenied, 'scope=key needs an API key of its own; use scope=team.', {
      param: 'scope',
    });
  }
  if (query.api_key !== undefined && query.api_key.toLowerCase() !== principal.keyId) {
    throw new GatewayError(
      ErrorCode.PermissionDenied,
      "With scope=key, api_key can only be the calling key's own id; use scope=team for another key of its team.",
      { param: 'api_key' },
    );
  }
  return { ...query, team: principal.team, api_key: principal.keyId };
}
