/** A class of error: what `instanceof` checks against. */
type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/**
 * The error `act` throws, typed so a test can assert on its fields (`code`, `param`, `problems`).
 * The test fails when `act` throws nothing; an error of another class is thrown on, so its own
 * message and stack say what went wrong.
 */
export function errorThrownBy<E extends Error>(act: () => unknown, type: ErrorClass<E>): E {
  try {
    act();
  } catch (error) {
    return ofClass(error, type);
  }
  throw new Error(`Expected ${type.name} to be thrown, but nothing was`);
}

/** Likewise for the error an async `act` rejects with. */
export async function errorRejectedBy<E extends Error>(act: () => Promise<unknown>, type: ErrorClass<E>): Promise<E> {
  try {
    await act();
  } catch (error) {
    return ofClass(error, type);
  }
  throw new Error(`Expected a rejection with ${type.name}, but the promise resolved`);
}

function ofClass<E extends Error>(error: unknown, type: ErrorClass<E>): E {
  if (error instanceof type) return error;
  throw error;
}
