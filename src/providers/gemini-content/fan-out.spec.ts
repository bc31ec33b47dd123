import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { EMPTY_USAGE, type UsageMeasure } from '../../usage/usage-measure.js';
import { candidateCounts, fanOut, MAX_CALLS_IN_FLIGHT } from './fan-out.js';

const usage = (images: number, inputTextTokens = 3): UsageMeasure => ({
  ...EMPTY_USAGE,
  inputTextTokens,
  outputImageTokens: 1120 * images,
  images,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const upstreamFailure = () =>
  new GatewayError(ErrorCode.UpstreamError, 'Gemini API failed with HTTP 500.', { transient: true });

/** Resolves after `ms` unless `signal` aborts first; then rejects as an aborted upstream call does. */
function slow<T>(ms: number, value: T, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(value), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new GatewayError(ErrorCode.ClientClosedRequest, 'The request was cancelled by the client.'));
    });
  });
}

describe(candidateCounts.name, () => {
  it.each<[number, number, number[]]>([
    [1, 8, [1]],
    [8, 8, [8]],
    [10, 8, [8, 2]],
    [3, 1, [1, 1, 1]],
  ])('splits n = %i at %i per call into %j', (n, perCall, counts) => {
    expect(candidateCounts(n, perCall)).toEqual(counts);
  });
});

describe(fanOut.name, () => {
  it('makes one call per count, never more than 4 at a time, and returns the results in order', async () => {
    let started = 0;
    let inFlight = 0;
    let most = 0;

    const results = await fanOut(
      candidateCounts(10, 1),
      new AbortController().signal,
      async () => {
        const call = started++;
        most = Math.max(most, ++inFlight);
        await sleep(20 - call); // later calls finish first
        inFlight--;
        return call;
      },
      () => usage(1),
    );

    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(MAX_CALLS_IN_FLIGHT).toBe(4);
    expect(most).toBe(4);
  });

  it("makes a single call with the request's own signal", async () => {
    const request = new AbortController();
    const signals: AbortSignal[] = [];

    await fanOut(
      [1],
      request.signal,
      async (_count, signal) => signals.push(signal),
      () => usage(1),
    );

    expect(signals).toEqual([request.signal]);
  });

  it('on a failure aborts the calls in flight, starts no more, waits for all, and throws it with what the others billed', async () => {
    let started = 0;
    const settled: number[] = [];

    const error = await errorRejectedBy(
      () =>
        fanOut(
          candidateCounts(6, 1),
          new AbortController().signal,
          async (_count, signal) => {
            const call = started++;
            try {
              if (call === 0) return await slow(5, 'quick', signal);
              if (call === 1) {
                await sleep(30);
                throw upstreamFailure();
              }
              return await slow(5_000, 'slow', signal);
            } finally {
              settled.push(call);
            }
          },
          () => usage(1),
        ),
      GatewayError,
    );

    // Call 0 succeeded and call 4 took its place; call 1 failed; 2, 3 and 4 were aborted; 5 never started.
    expect(started).toBe(5);
    expect(settled.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(error).toMatchObject({
      code: ErrorCode.UpstreamError,
      message: 'Gemini API failed with HTTP 500.',
      transient: true,
      billable: usage(1),
    });
  });

  it('sums what every successful call billed into billable', async () => {
    let started = 0;

    const error = await errorRejectedBy(
      () =>
        fanOut(
          [2, 2, 1],
          new AbortController().signal,
          async (count) => {
            if (started++ < 2) return count;
            await sleep(20);
            throw upstreamFailure();
          },
          (images) => usage(images, 5),
        ),
      GatewayError,
    );

    expect(error.billable).toEqual({ ...EMPTY_USAGE, inputTextTokens: 10, outputImageTokens: 4 * 1120, images: 4 });
  });

  it('throws the failure as it is, without billable, when no call succeeded', async () => {
    const thrown = upstreamFailure();

    const error = await errorRejectedBy(
      () =>
        fanOut(
          [1, 1],
          new AbortController().signal,
          () => Promise.reject(thrown),
          () => usage(1),
        ),
      GatewayError,
    );

    expect(error).toBe(thrown);
    expect(error.billable).toBeUndefined();
  });

  it("aborts every call when the request's signal aborts", async () => {
    const request = new AbortController();
    setTimeout(() => request.abort(new Error('the client went away')), 20);

    const error = await errorRejectedBy(
      () =>
        fanOut(
          [1, 1, 1],
          request.signal,
          (_count, signal) => slow(5_000, 'never', signal),
          () => usage(1),
        ),
      GatewayError,
    );

    expect(error.code).toBe(ErrorCode.ClientClosedRequest);
  });
});
