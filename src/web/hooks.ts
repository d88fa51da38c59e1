/** Preact glue: re-render a component whenever the store reports a change. */
import { useEffect, useReducer, useState } from 'preact/hooks';
import type { AppStore } from './store';

export function useStore(store: AppStore): void {
  const [, bump] = useReducer((n: number, _action: void) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump()), [store]);
}

/** The hash route: `#/c/<conv_id>` is an open conversation, anything else the list. */
export function convFromHash(hash: string): string | null {
  const m = /^#\/c\/(.+)$/.exec(hash);
  return m ? decodeURIComponent(m[1]) : null;
}

export function goTo(convId: string | null): void {
  const next = convId ? `#/c/${encodeURIComponent(convId)}` : '#/';
  if (location.hash !== next) location.hash = next;
}

/** The time now, refreshed every `everyMs`: for labels that age ("Active 5m ago"). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
