/** Polls `check` until it returns a value that `done` accepts, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await check();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`waitFor timed out; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await check();
  }
  return value;
}
