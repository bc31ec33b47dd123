import { useEffect, useState } from 'preact/hooks';

/** The console's pages, as paths under /console. */
export const PAGES = {
  overview: '/console',
  teams: '/console/teams',
  keys: '/console/keys',
  requests: '/console/requests',
  models: '/console/models',
} as const;
export type Page = keyof typeof PAGES;

const listeners = new Set<() => void>();

export function pageOf(pathname: string): Page | undefined {
  const path = pathname.replace(/\/+$/, '') || '/';
  return (Object.keys(PAGES) as Page[]).find((page) => PAGES[page] === path);
}

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  listeners.forEach((listener) => listener());
}

/** The current location, re-rendering on navigation (links and the browser's back and forward). */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const update = () => setVersion((version) => version + 1);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return { pathname: location.pathname, search: new URLSearchParams(location.search) };
}

/** A plain link that navigates in the app (a modified click still opens a new tab). */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
