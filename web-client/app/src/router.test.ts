import { describe, expect, it } from 'vitest';
import { match } from './router';

describe('match', () => {
  it('reads parameters and ignores a trailing slash', () => {
    expect(match('/products/:id', '/products/abc%20d/')).toEqual({ id: 'abc d' });
  });
  it('matches the root', () => {
    expect(match('/', '/')).toEqual({});
    expect(match('/', '/catalog')).toBeNull();
  });
  it('refuses other paths', () => {
    expect(match('/products/:id', '/products')).toBeNull();
    expect(match('/sell', '/sell/new')).toBeNull();
  });
});
