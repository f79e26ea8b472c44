// Consistency tokens of the seller's own writes (Product.consistencyToken). Listings pass them
// so the read model answers only once it holds those versions: a product just created or
// edited shows at once. One token per product (the newest write wins), kept for the tab.
import { createStore } from '../lib/store';

const KEY = 'mercado.writes';
const MAX = 50;

const read = (): Record<string, string> => JSON.parse(sessionStorage.getItem(KEY) ?? '{}');

export const writes = createStore<Record<string, string>>(read());

export function rememberWrite(product: { id: string; consistencyToken: string }): void {
  const next = { ...writes.get() };
  delete next[product.id];
  next[product.id] = product.consistencyToken;
  const kept = Object.fromEntries(Object.entries(next).slice(-MAX));
  sessionStorage.setItem(KEY, JSON.stringify(kept));
  writes.set(kept);
}
