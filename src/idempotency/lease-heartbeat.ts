/**
 * Renews a lease every `everyMs` while its holder works, until `stop()`. A renewal that says the
 * lease is no longer held calls `onLost` once and ends the renewals; one that fails (the database
 * away for a moment) is reported to `onError` and tried again at the next beat.
 */
export function keepLeased(
  renew: () => Promise<boolean>,
  everyMs: number,
  handlers: { onLost: () => void; onError: (error: unknown) => void },
): { stop(): void } {
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  const beat = async () => {
    try {
      const held = await renew();
      if (!held && !stopped) {
        stop();
        handlers.onLost();
      }
    } catch (error) {
      if (!stopped) handlers.onError(error);
    }
  };
  const timer = setInterval(() => void beat(), everyMs);
  // The request it belongs to keeps the process busy; the renewals alone should not.
  timer.unref();
  return { stop };
}
