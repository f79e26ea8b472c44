// The cart lives in the browser (localStorage, shared by tabs). It also remembers the current
// checkout attempt's idempotency key: a double click or a retry after a network error sends the
// same key, so the server returns the order it already placed instead of placing a second one.
import { createStore } from '../lib/store';
import type { Money } from '../lib/money';

export const CART_KEY = 'mercado.cart';

export interface CartLine {
  variantId: string;
  productId: string;
  productName: string;
  variantName: string;
  unitPrice: Money;
  quantity: number;
}

interface CartState {
  lines: CartLine[];
  /** `body` is the order the key was made for; another body needs another key. */
  attempt: { key: string; body: string } | null;
}

const EMPTY: CartState = { lines: [], attempt: null };

export function createCart(storage: Storage, newKey: () => string = () => crypto.randomUUID()) {
  const read = (): CartState => {
    const raw = storage.getItem(CART_KEY);
    return raw ? (JSON.parse(raw) as CartState) : EMPTY;
  };
  const store = createStore(read());
  const save = (next: CartState) => {
    storage.setItem(CART_KEY, JSON.stringify(next));
    store.set(next);
  };
  // Any change to the lines starts a new attempt.
  const setLines = (lines: CartLine[]) => save({ lines, attempt: null });

  return {
    store,
    lines: () => store.get().lines,
    count: () => store.get().lines.reduce((n, l) => n + l.quantity, 0),
    add(line: CartLine) {
      const lines = store.get().lines;
      const existing = lines.find((l) => l.variantId === line.variantId);
      setLines(
        existing
          ? lines.map((l) => (l === existing ? { ...l, quantity: l.quantity + line.quantity } : l))
          : [...lines, line],
      );
    },
    setQuantity(variantId: string, quantity: number) {
      setLines(store.get().lines.map((l) => (l.variantId === variantId ? { ...l, quantity } : l)));
    },
    remove(variantId: string) {
      setLines(store.get().lines.filter((l) => l.variantId !== variantId));
    },
    /** The order was placed: the attempt is over and so is the cart. */
    clear() {
      save(EMPTY);
    },
    /** The key for placing `body` (the serialized order input): reused until the order changes. */
    attemptKey(body: string): string {
      const state = store.get();
      if (state.attempt?.body === body) return state.attempt.key;
      const key = newKey();
      save({ ...state, attempt: { key, body } });
      return key;
    },
    /** Another tab changed the cart. */
    reload() {
      store.set(read());
    },
  };
}

export type Cart = ReturnType<typeof createCart>;
