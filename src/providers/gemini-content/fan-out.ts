import { GatewayError } from '../../common/errors/gateway.error.js';
import { addUsage, EMPTY_USAGE, type UsageMeasure } from '../../usage/usage-measure.js';

/**
 * Upstream calls of one request in flight at once: `n: 10` on a model taking one candidate per
 * call is ten calls, and ten at once would spend a project's quota in one burst.
 */
export const MAX_CALLS_IN_FLIGHT = 4;

/** `n` as the candidates of each call, at most `perCall` each: 10 at 8 per call is [8, 2]. */
export function candidateCounts(n: number, perCall: number): number[] {
  const counts: number[] = [];
  for (let left = n; left > 0; left -= perCall) counts.push(Math.min(left, perCall));
  return counts;
}

/**
 * One call per count, at most `MAX_CALLS_IN_FLIGHT` at a time, all or nothing; the results in the
 * order of `counts`. When a call fails, the others are aborted (each call has a controller of its
 * own, chained to the request's signal) and no further call starts; once every call has settled,
 * the first failure is thrown, carrying as `billable` what the calls that succeeded were billed
 * for (`usageOf` their results). A single call is simply made, with the request's signal.
 */
export async function fanOut<T>(
  counts: readonly number[],
  signal: AbortSignal,
  call: (count: number, signal: AbortSignal) => Promise<T>,
  usageOf: (result: T) => UsageMeasure,
): Promise<T[]> {
  if (counts.length === 1) return [await call(counts[0]!, signal)];
  const results: T[] = [];
  const controllers = new Set<AbortController>();
  let failure: { error: unknown } | undefined;
  let billed: UsageMeasure | undefined;

  const run = async (index: number) => {
    const controller = new AbortController();
    const abort = () => controller.abort(signal.reason);
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    controllers.add(controller);
    try {
      results[index] = await call(counts[index]!, controller.signal);
      billed = addUsage(billed ?? EMPTY_USAGE, usageOf(results[index]));
    } catch (error) {
      if (failure) return;
      failure = { error };
      for (const other of controllers) other.abort(new Error('another call of the request failed'));
    } finally {
      signal.removeEventListener('abort', abort);
      controllers.delete(controller);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < counts.length && !failure) await run(next++);
  };
  await Promise.all(Array.from({ length: Math.min(MAX_CALLS_IN_FLIGHT, counts.length) }, worker));

  if (!failure) return results;
  throw billed ? withBillable(failure.error, billed) : failure.error;
}

/** The failure, as a GatewayError that also carries what the successful calls were billed for. */
function withBillable(error: unknown, billed: UsageMeasure): unknown {
  if (!(error instanceof GatewayError)) return error;
  return new GatewayError(error.code, error.message, {
    param: error.param,
    headers: error.headers,
    transient: error.transient,
    cause: error,
    billable: addUsage(error.billable ?? EMPTY_USAGE, billed),
  });
}
