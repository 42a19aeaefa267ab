// The page's shared state: the one view stream (one EventSource for the whole app, re-rendering
// subscribers on every view), the location (history API routing), and a hook for other SSE feeds.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { DashboardView } from '../api.js';

type Listener = () => void;

// --- The fanned-out view ----------------------------------------------------------------------

let view: DashboardView | undefined;
let connected = false;
/** The stream delivered at least once (the top bar says "connecting" before, "reconnecting" after). */
let everConnected = false;
const viewListeners = new Set<Listener>();
let source: EventSource | undefined;

function notify(): void {
  for (const l of viewListeners) l();
}

/** Opens the view stream once; EventSource reconnects by itself after a drop. */
export function startViewStream(): void {
  if (source) return;
  source = new EventSource('/api/view/stream');
  source.addEventListener('open', () => {
    connected = true;
    notify();
  });
  source.addEventListener('error', () => {
    connected = false;
    notify();
  });
  source.addEventListener('view', (e) => {
    try {
      view = JSON.parse((e as MessageEvent<string>).data) as DashboardView;
      connected = true;
      everConnected = true;
      notify();
    } catch {
      // A bad frame is skipped; the next view replaces it.
    }
  });
}

function useSubscription<T>(listeners: Set<Listener>, read: () => T): T {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = (): void => setTick((t) => t + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, [listeners]);
  return read();
}

export function useView(): { view: DashboardView | undefined; connected: boolean; everConnected: boolean } {
  return useSubscription(viewListeners, () => ({ view, connected, everConnected }));
}

// --- Routing --------------------------------------------------------------------------------------

const routeListeners = new Set<Listener>();
window.addEventListener('popstate', () => {
  for (const l of routeListeners) l();
});

export function navigate(url: string, replace = false): void {
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of routeListeners) l();
  window.scrollTo(0, 0);
}

export interface Route {
  path: string;
  /** Path segments after the first, decoded: /topics/a%2Fb -> ['topics', 'a/b']. */
  parts: string[];
  query: URLSearchParams;
}

export function useRoute(): Route {
  return useSubscription(routeListeners, () => ({
    path: location.pathname,
    parts: location.pathname
      .split('/')
      .filter((p) => p !== '')
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      }),
    query: new URLSearchParams(location.search),
  }));
}

// --- Other streams --------------------------------------------------------------------------------

/**
 * An EventSource on `url` (none when null) calling `on(eventName, data)` for the named events; closed
 * when the url changes or the component goes. Browsers allow ~6 connections per origin over HTTP/1.1,
 * so views keep the number of streams they open small.
 */
export function useEventSource(url: string | null, events: readonly string[], on: (event: string, data: string) => void): boolean {
  const onRef = useRef(on);
  onRef.current = on;
  const [open, setOpen] = useState(false);
  const key = events.join(',');
  useEffect(() => {
    if (!url) return;
    const es = new EventSource(url);
    es.addEventListener('open', () => setOpen(true));
    es.addEventListener('error', () => setOpen(false));
    for (const name of key.split(',')) {
      es.addEventListener(name, (e) => onRef.current(name, (e as MessageEvent<string>).data));
    }
    return () => {
      es.close();
      setOpen(false);
    };
  }, [url, key]);
  return open;
}

/** Calls `fn` on mount and whenever the view changes, at most every `everyMs` (detail views that fetch). */
export function useOnViewChange(fn: () => void, everyMs: number, deps: readonly unknown[]): void {
  const { view: v } = useView();
  const last = useRef(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    last.current = Date.now();
    fnRef.current();
  }, deps);
  const at = v?.atMs;
  useEffect(() => {
    if (at === undefined) return;
    if (Date.now() - last.current < everyMs) return;
    last.current = Date.now();
    fnRef.current();
  }, [at, everyMs]);
}
