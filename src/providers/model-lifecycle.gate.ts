import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { ModelLifecycle } from '../config/models.catalogue.js';
import type { RegisteredModel } from './provider-registry.service.js';

/** The response header naming the model that served a request for a retired one. */
export const SERVED_MODEL_HEADER = 'x-easel-served-model';

/**
 * What a model's lifecycle means for a request on `today` (`YYYY-MM-DD`, UTC): `announced` before
 * its deprecation day, `deprecated` from it, `retired` from its shutdown day on. All but `active`
 * carry the headers that say so.
 */
export type LifecycleVerdict =
  | { state: 'active' }
  | { state: 'announced' | 'deprecated'; headers: Record<string, string> }
  | {
      state: 'retired';
      headers: Record<string, string>;
      afterShutdown: ModelLifecycle['afterShutdown'];
      successor?: string;
    };

const midnight = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** Today as the catalogue's dates are written (UTC). */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * A model with a lifecycle is announced the way HTTP does: `Deprecation` (RFC 9745, `@<unix
 * seconds>` of `deprecated_on`), `Sunset` (RFC 8594, the HTTP date of `shutdown_on`) and
 * `Link: </v1/models/{successor}>; rel="successor-version"`, each when the catalogue gives its
 * date or successor. It is deprecated from `deprecated_on` (or, without one, from `shutdown_on`,
 * as `GET /v1/models` reports it) and retired from `shutdown_on` on.
 */
export function lifecycleVerdict(lifecycle: ModelLifecycle | undefined, day: string): LifecycleVerdict {
  if (!lifecycle || (lifecycle.deprecatedOn === undefined && lifecycle.shutdownOn === undefined)) {
    return { state: 'active' };
  }
  const { deprecatedOn, shutdownOn, successor, afterShutdown } = lifecycle;
  const headers: Record<string, string> = {};
  if (deprecatedOn !== undefined) headers.deprecation = `@${midnight(deprecatedOn) / 1000}`;
  if (shutdownOn !== undefined) headers.sunset = new Date(midnight(shutdownOn)).toUTCString();
  if (successor !== undefined) {
    headers.link = `</v1/models/${encodeURIComponent(successor)}>; rel="successor-version"`;
  }
  if (shutdownOn !== undefined && shutdownOn <= day) return { state: 'retired', headers, afterShutdown, successor };
  return { state: deprecatedOn !== undefined && deprecatedOn <= day ? 'deprecated' : 'announced', headers };
}

/**
 * A model's lifecycle as OpenAI's `/v1/models` reports it (`shutdown_date`), plus whether it is
 * deprecated (or retired) on `day` and its successor.
 */
export function lifecycleOf(
  lifecycle: ModelLifecycle | undefined,
  day: string,
): { shutdown_date: string | null; deprecated: boolean; successor: string | null } {
  const { state } = lifecycleVerdict(lifecycle, day);
  return {
    shutdown_date: lifecycle?.shutdownOn ?? null,
    deprecated: state === 'deprecated' || state === 'retired',
    successor: lifecycle?.successor ?? null,
  };
}

/**
 * Applies the requested model's lifecycle to a request, right after the model is known and
 * before anything else can refuse it; returns the model that serves the request.
 *
 * Until its shutdown a model serves itself and its responses (whatever they turn out to be) carry
 * the headers above. From `shutdown_on`, `after_shutdown: reject` refuses with 410 `model_retired`
 * naming the successor, before any upstream call; `after_shutdown: successor` serves the request
 * with the successor (following it on while that is retired too): the operator's stand-in for the
 * model, so a key allowed the retired model is served by it, and teams keep working on the day of
 * the shutdown. Its validation and prices apply, `x-easel-served-model` and the response's `model` name
 * it, and the usage record keeps both ids. The request's usage notes a deprecated or retired model
 * for the metric counting such calls by key.
 */
@Injectable()
export class ModelLifecycleGate {
  serve<M extends RegisteredModel>(requested: M, context: RequestContext, lookup: (id: string) => M): M {
    const day = today();
    const verdict = lifecycleVerdict(requested.definition.lifecycle, day);
    if (verdict.state !== 'active') {
      void context.reply.headers(verdict.headers);
      if (verdict.state !== 'announced') context.usage.lifecycle = verdict.state;
    }
    const route = lifecycleRoute(requested, day, lookup);
    if ('refusedBy' in route) throw retiredError(requested, route.refusedBy, route.successor);
    const { served } = route;
    context.usage.servedModel = served.definition.id;
    if (served !== requested) void context.reply.header(SERVED_MODEL_HEADER, served.definition.id);
    return served;
  }
}

/**
 * Who answers a request for `model` on `day`: the model itself until its shutdown; after it, the
 * successor (followed on while it is retired too) where the catalogue says `after_shutdown:
 * successor`, else a refusal by the retired model that says `reject` (the catalogue's boot checks
 * guarantee the successors exist and never lead back).
 */
export function lifecycleRoute<M extends RegisteredModel>(
  model: M,
  day: string,
  lookup: (id: string) => M,
): { served: M } | { refusedBy: M; successor?: string } {
  let served = model;
  for (;;) {
    const verdict = lifecycleVerdict(served.definition.lifecycle, day);
    if (verdict.state !== 'retired') return { served };
    if (verdict.afterShutdown === 'reject' || verdict.successor === undefined) {
      return { refusedBy: served, successor: verdict.successor };
    }
    served = lookup(verdict.successor);
  }
}

function retiredError(
  requested: RegisteredModel,
  retired: RegisteredModel,
  successor: string | undefined,
): GatewayError {
  const since = (model: RegisteredModel) =>
    `'${model.definition.id}' was retired on ${model.definition.lifecycle!.shutdownOn}`;
  const what =
    requested === retired
      ? `The model ${since(retired)}`
      : `The model ${since(requested)}, and its successor ${since(retired)}`;
  const instead = successor ? `; use '${successor}' instead (GET /v1/models/${encodeURIComponent(successor)}).` : '.';
  return new GatewayError(ErrorCode.ModelRetired, what + instead, { param: 'model' });
}
