import { beforeEach, describe, expect, it } from 'vitest';
import { createCart, type CartLine } from './cart';

const line = (variantId: string, quantity = 1): CartLine => ({
  variantId,
  productId: 'p',
  productName: 'Mug',
  variantName: 'Blue',
  unitPrice: { amount: 1250, currency: 'EUR' },
  quantity,
});

describe('cart checkout attempts', () => {
  let n: number;
  let cart: ReturnType<typeof createCart>;
  beforeEach(() => {
    localStorage.clear();
    n = 0;
    cart = createCart(localStorage, () => `key-${++n}`);
    cart.add(line('v1'));
  });

  it('reuses the key for the same order (double click, retry after a network error)', () => {
    expect(cart.attemptKey('order')).toBe('key-1');
    expect(cart.attemptKey('order')).toBe('key-1');
  });

  it('survives a reload of the page', () => {
    cart.attemptKey('order');
    const reloaded = createCart(localStorage, () => 'other');
    expect(reloaded.attemptKey('order')).toBe('key-1');
  });

  it('makes a new key when the cart changes', () => {
    cart.attemptKey('order');
    cart.setQuantity('v1', 2);
    expect(cart.attemptKey('order')).toBe('key-2');
  });

  it('makes a new key when the order differs (another payment token)', () => {
    cart.attemptKey('order with tok_approve');
    expect(cart.attemptKey('order with tok_decline')).toBe('key-2');
  });

  it('forgets lines and key once the order is placed', () => {
    cart.attemptKey('order');
    cart.clear();
    expect(cart.lines()).toEqual([]);
    cart.add(line('v1'));
    expect(cart.attemptKey('order')).toBe('key-2');
  });

  it('adds quantities of the same variant together', () => {
    cart.add(line('v1', 2));
    expect(cart.count()).toBe(3);
  });
});
