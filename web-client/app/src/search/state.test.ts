import { CombinedError } from '@urql/core';
import { describe, expect, it } from 'vitest';
import { problemOf } from '../lib/errors';
import {
  filterCount,
  parsePrice,
  parseSearch,
  priceRangeLabel,
  sameRange,
  searchHref,
  searchProblem,
  toFilter,
  type SearchState,
} from './state';

const at = (href: string) => parseSearch(new URL(href, 'http://localhost').searchParams);

describe('search state in the URL', () => {
  it('round-trips every part of a search', () => {
    const state: SearchState = {
      q: 'blue lamp & co',
      category: 'home & garden',
      seller: '348883b6-f254-4a7a-b96f-46f9a7ddf456',
      price: { min: 1000, max: 5000 },
      sort: 'PRICE_HIGH_TO_LOW',
    };
    const href = searchHref(state);
    expect(href).toBe(
      '/search?q=blue+lamp+%26+co&category=home+%26+garden&seller=348883b6-f254-4a7a-b96f-46f9a7ddf456&price=1000-5000&sort=PRICE_HIGH_TO_LOW',
    );
    expect(at(href)).toEqual(state);
  });

  it('leaves defaults out of the URL', () => {
    expect(searchHref({ q: 'lamp', category: null, seller: null, price: null, sort: 'RELEVANCE' })).toBe('/search?q=lamp');
    expect(at('/search?q=lamp')).toEqual({ q: 'lamp', category: null, seller: null, price: null, sort: 'RELEVANCE' });
  });

  it('keeps the text as typed, and none when there is none', () => {
    expect(at('/search?q=%20%20').q).toBe('  ');
    expect(at('/search').q).toBe('');
  });

  it('ignores what it cannot read', () => {
    expect(at('/search?q=x&sort=CHEAPEST&category=&seller=&price=abc')).toEqual({
      q: 'x',
      category: null,
      seller: null,
      price: null,
      sort: 'RELEVANCE',
    });
  });

  it('reads open-ended price ranges', () => {
    expect(parsePrice('-1000')).toEqual({ min: null, max: 1000 });
    expect(parsePrice('50000-')).toEqual({ min: 50000, max: null });
    expect(at(searchHref({ q: 'x', price: { min: null, max: 1000 } })).price).toEqual({ min: null, max: 1000 });
  });

  it('refuses empty or backwards price ranges', () => {
    for (const bad of ['-', '', '5000-1000', '1000-1000', '-0', '1.5-2', '-5-10']) expect(parsePrice(bad)).toBeNull();
    expect(parsePrice(null)).toBeNull();
  });

  it('compares ranges by their bounds', () => {
    expect(sameRange({ min: null, max: 1000 }, { min: null, max: 1000 })).toBe(true);
    expect(sameRange({ min: 0, max: 1000 }, { min: null, max: 1000 })).toBe(false);
    expect(sameRange(null, null)).toBe(false);
  });
});

describe('the API filter of a search', () => {
  const base: SearchState = { q: 'lamp', category: null, seller: null, price: null, sort: 'RELEVANCE' };

  it('is null without filters', () => {
    expect(toFilter(base)).toBeNull();
    expect(filterCount(base)).toBe(0);
  });

  it('turns the exclusive upper bound of a range into an inclusive maxPrice', () => {
    expect(toFilter({ ...base, price: { min: 1000, max: 5000 } })).toEqual({ minPrice: 1000, maxPrice: 4999 });
    expect(toFilter({ ...base, price: { min: null, max: 1000 } })).toEqual({ maxPrice: 999 });
    expect(toFilter({ ...base, price: { min: 50000, max: null } })).toEqual({ minPrice: 50000 });
  });

  it('carries category and seller', () => {
    const state = { ...base, category: 'lighting', seller: 's-1' };
    expect(toFilter(state)).toEqual({ category: 'lighting', sellerId: 's-1' });
    expect(filterCount(state)).toBe(2);
  });
});

describe('price range labels', () => {
  const label = (min: number | null, max: number | null, currency = 'EUR') => priceRangeLabel({ min, max }, currency, 'en');

  it('names closed and open ranges', () => {
    expect(label(null, 1000)).toBe('Under €10');
    expect(label(1000, 5000)).toBe('€10 to €50');
    expect(label(50000, null)).toBe('€500 and over');
    expect(label(null, null)).toBe('Any price');
  });

  it('shows cents only when a bound has them', () => {
    expect(label(1050, 1999)).toBe('€10.50 to €19.99');
    expect(label(0, 1000)).toBe('€0 to €10');
  });

  it('follows the currency minor unit and the locale', () => {
    expect(label(null, 1000, 'JPY')).toBe('Under ¥1,000');
    expect(priceRangeLabel({ min: 1000, max: 5000 }, 'EUR', 'de')).toBe('10\u00a0€ to 50\u00a0€');
  });
});

describe('search problems', () => {
  const bad = (field: string, message: string) =>
    problemOf(
      new CombinedError({
        graphQLErrors: [{ message: `${field}: ${message}`, extensions: { code: 'BAD_USER_INPUT', field, violations: [{ field, message }] } }],
      }),
    );

  it('keeps the reason the search text was refused, for the search box', () => {
    expect(bad('query', 'must be at most 200 characters')?.fields.query).toBe('must be at most 200 characters');
  });

  it('says a cursor past the last result that can be served ends the results', () => {
    const p = searchProblem(bad('after', 'search results stop at the 1000th: narrow the search'));
    expect(p?.message).toBe('No more results: search results stop at the 1000th: narrow the search.');
  });

  it('names any other field, and leaves other problems as they are', () => {
    expect(searchProblem(bad('first', 'must be between 1 and 100'))?.message).toBe('first: must be between 1 and 100');
    const network = problemOf(new CombinedError({ networkError: new Error('offline') }));
    expect(searchProblem(network)).toBe(network);
    expect(searchProblem(null)).toBeNull();
  });
});
