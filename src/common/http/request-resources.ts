import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a request's work holds until its connection has closed and the work has ended (spooled
 * image data, its memory): let go of at once then, by `RequestLifecycle`. Code running for the
 * request finds its resources with `currentRequestResources()`.
 */
export class RequestResources {
  private releases: Array<() => void> | undefined = [];

  /** `release` runs when the request ends (at once when it has ended already). */
  add(release: () => void): void {
    if (this.releases) this.releases.push(release);
    else release();
  }

  release(): void {
    const releases = this.releases ?? [];
    this.releases = undefined;
    for (const release of releases) {
      try {
        release();
      } catch {
        // One resource that cannot be let go keeps none of the others.
      }
    }
  }
}

const storage = new AsyncLocalStorage<RequestResources>();

/** Runs `work` (and everything it starts) as part of the request that holds `resources`. */
export function runWithRequestResources<T>(resources: RequestResources, work: () => T): T {
  return storage.run(resources, work);
}

/** The resources of the request this code runs for; undefined outside a request. */
export function currentRequestResources(): RequestResources | undefined {
  return storage.getStore();
}
