import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change (and on `reload`); only the latest run's answer is kept. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [version, setVersion] = useState(0);
  const run = useRef(0);
  useEffect(() => {
    const id = ++run.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => id === run.current && setState({ data, loading: false }),
      (error: unknown) =>
        id === run.current && setState((previous) => ({ data: previous.data, error: error as Error, loading: false })),
    );
  }, [...deps, version]); // the caller names what the load depends on
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { ...state, reload };
}
