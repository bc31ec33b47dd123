import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { ModelDefinition, ModelLifecycle } from '../config/models.catalogue.js';

/** What a model's lifecycle means for a request on `today` (`YYYY-MM-DD`, UTC). */
export type LifecycleVerdict =
  | { state: 'active' }
  | { state: 'deprecated'; headers: Record<string, string> }
  | { state: 'retired'; afterShutdown: ModelLifecycle['afterShutdown']; successor?: string };

const midnight = (day: string) => Date.parse(`${day}T00:00:00Z`);

/**
 * A model with a lifecycle, before its `shutdown_on`, is announced the way HTTP does: `Deprecation`
 * (RFC 9745, `@<unix seconds>` of `deprecated_on`), `Sunset` (RFC 8594, the HTTP date of
 * `shutdown_on`) and `Link: </v1/models/{successor}>; rel="successor-version"`, each when the
 * catalogue gives its date or successor. From `shutdown_on` on it is retired.
 */
export function lifecycleVerdict(lifecycle: ModelLifecycle | undefined, today: string): LifecycleVerdict {
  if (!lifecycle || (lifecycle.deprecatedOn === undefined && lifecycle.shutdownOn === undefined)) {
    return { state: 'active' };
  }
  const { deprecatedOn, shutdownOn, successor, afterShutdown } = lifecycle;
  if (shutdownOn !== undefined && shutdownOn <= today) return { state: 'retired', afterShutdown, successor };
  const headers: Record<string, string> = {};
  if (deprecatedOn !== undefined) headers.deprecation = `@${midnight(deprecatedOn) / 1000}`;
  if (shutdownOn !== undefined) headers.sunset = new Date(midnight(shutdownOn)).toUTCString();
  if (successor !== undefined) {
    headers.link = `</v1/models/${encodeURIComponent(successor)}>; rel="successor-version"`;
  }
  return { state: 'deprecated', headers };
}

/**
 * Applies a model's lifecycle to a request, right after the model is known and before anything
 * else can refuse it: a deprecated model's response (whatever it turns out to be) carries the
 * headers; a retired model whose catalogue says `after_shutdown: reject` is refused with 410
 * `model_retired` naming its successor, before any upstream call.
 */
@Injectable()
export class ModelLifecycleGate {
  admit(model: ModelDefinition, context: RequestContext): void {
    if (!model.lifecycle) return;
    const verdict = lifecycleVerdict(model.lifecycle, new Date().toISOString().slice(0, 10));
    if (verdict.state === 'deprecated') {
      void context.reply.headers(verdict.headers);
    } else if (verdict.state === 'retired' && verdict.afterShutdown === 'reject') {
      const shutdown = model.lifecycle!.shutdownOn!;
      throw new GatewayError(
        ErrorCode.ModelRetired,
        `The model '${model.id}' was retired on ${shutdown}` +
          (verdict.successor
            ? `; use '${verdict.successor}' instead (GET /v1/models/${encodeURIComponent(verdict.successor)}).`
            : '.'),
        { param: 'model' },
      );
    }
  }
}
