import { CART_KEY, createCart } from './cart';

export const cart = createCart(localStorage);

addEventListener('storage', (e) => {
  if (e.key === CART_KEY) cart.reload();
});
