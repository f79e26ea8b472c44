import { useEffect, useState } from 'preact/hooks';

/** A tiny observable value, for state that lives outside components (cart, socket). */
export interface Store<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      value = next;
      listeners.forEach((l) => l());
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Re-renders when the source changes. */
export function useExternal<T>(source: { subscribe(l: () => void): () => void }, read: () => T): T {
  const [value, setValue] = useState(read);
  useEffect(() => {
    setValue(read);
    return source.subscribe(() => setValue(read));
  }, [source]);
  return value;
}
