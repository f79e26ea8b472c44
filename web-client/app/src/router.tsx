// Client-side routing over the history API: real paths (the server answers index.html for
// any unknown path), links that push state, and focus moved to the new page for screen readers.
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { createStore, useExternal } from './lib/store';

const location$ = createStore({ path: location.pathname, search: location.search });

addEventListener('popstate', () => location$.set({ path: location.pathname, search: location.search }));

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  const url = new URL(to, location.href);
  location$.set({ path: url.pathname, search: url.search });
  if (!opts.replace) scrollTo(0, 0);
}

export function useLocation() {
  const loc = useExternal(location$, location$.get);
  return { path: loc.path, query: new URLSearchParams(loc.search) };
}

/** `/products/:id` against `/products/42` → `{ id: '42' }`, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = segments(pattern);
  const have = segments(path);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return null;
  }
  return params;
}

const segments = (path: string) => path.split('/').filter(Boolean);

export function Link(props: AnchorHTMLAttributes & { href: string; children: ComponentChildren }) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
