// A search as the URL holds it (`/search?q=…&category=…&seller=…&price=1000-5000&sort=…`), so a
// reload, Back and a shared link all show the same results; and what the API is asked for it.
import type { VariablesOf } from '../api/graphql';
import type { SearchQuery } from '../api/ops/catalog';
import type { Problem } from '../lib/errors';

export type SearchSort = VariablesOf<typeof SearchQuery>['sort'];
type Filter = NonNullable<VariablesOf<typeof SearchQuery>['filter']>;

/** A price range as the API's price facet gives it: minor units, `max` exclusive, null = open. */
export interface PriceRange {
  min: number | null;
  max: number | null;
}

export interface SearchState {
  /** The text as typed ('' when there is none: nothing is asked). */
  q: string;
  category: string | null;
  /** A seller's id. */
  seller: string | null;
  price: PriceRange | null;
  sort: SearchSort;
}

export const SORTS: readonly (readonly [SearchSort, string])[] = [
  ['RELEVANCE', 'Best match'],
  ['NEWEST', 'Newest first'],
  ['PRICE_LOW_TO_HIGH', 'Price: low to high'],
  ['PRICE_HIGH_TO_LOW', 'Price: high to low'],
];

const isSort = (v: string | null): v is SearchSort => SORTS.some(([s]) => s === v);

/** The search a URL's query string describes; anything malformed is left out. */
export function parseSearch(params: URLSearchParams): SearchState {
  const sort = params.get('sort');
  return {
    q: params.get('q') ?? '',
    category: params.get('category') || null,
    seller: params.get('seller') || null,
    price: parsePrice(params.get('price')),
    sort: isSort(sort) ? sort : 'RELEVANCE',
  };
}

/** The URL of a search: parameters in a fixed order, defaults left out. */
export function searchHref(state: Partial<SearchState> & { q: string }): string {
  const params = new URLSearchParams({ q: state.q });
  if (state.category) params.set('category', state.category);
  if (state.seller) params.set('seller', state.seller);
  if (state.price) params.set('price', priceParam(state.price));
  if (state.sort && state.sort !== 'RELEVANCE') params.set('sort', state.sort);
  return `/search?${params}`;
}

/** `1000-5000`, `-1000` (under 10.00), `50000-` (500.00 and over). */
export function priceParam(range: PriceRange): string {
  return `${range.min ?? ''}-${range.max ?? ''}`;
}

export function parsePrice(value: string | null): PriceRange | null {
  const m = value?.match(/^(\d{0,12})-(\d{0,12})$/);
  if (!m || (!m[1] && !m[2])) return null;
  const range = { min: m[1] ? Number(m[1]) : null, max: m[2] ? Number(m[2]) : null };
  return range.max !== null && range.max <= (range.min ?? 0) ? null : range;
}

export function sameRange(a: PriceRange | null, b: PriceRange | null): boolean {
  return !!a && !!b && a.min === b.min && a.max === b.max;
}

/**
 * The API filter for a search. A range's `max` is exclusive while `maxPrice` is inclusive, and
 * prices are whole minor units, so `maxPrice` is one below it: the results match the facet count.
 */
export function toFilter(state: SearchState): Filter | null {
  const filter: Filter = {};
  if (state.category) filter.category = state.category;
  if (state.seller) filter.sellerId = state.seller;
  if (state.price?.min != null) filter.minPrice = state.price.min;
  if (state.price?.max != null) filter.maxPrice = state.price.max - 1;
  return Object.keys(filter).length ? filter : null;
}

/** How many filters narrow the search. */
export function filterCount(state: SearchState): number {
  return [state.category, state.seller, state.price].filter((f) => f !== null).length;
}

/** `Under €10`, `€10 to €50`, `€500 and over` (whole amounts without cents). */
export function priceRangeLabel(range: PriceRange, currency: string, locale?: string): string {
  const money = (minor: number) => {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    const major = minor / 10 ** digits;
    const whole = Number.isInteger(major);
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      ...(whole ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : {}),
    }).format(major);
  };
  if (range.min === null && range.max === null) return 'Any price';
  if (range.min === null) return `Under ${money(range.max!)}`;
  if (range.max === null) return `${money(range.min)} and over`;
  return `${money(range.min)} to ${money(range.max)}`;
}

/**
 * A search's problem in words. Bad search text is shown beside the search box (`fields.query`);
 * bad input elsewhere names its field, and a cursor past the last result that can be served
 * says there is nothing more. Anything else reads as `problemOf` words it.
 */
export function searchProblem(problem: Problem | null): Problem | null {
  if (!problem || problem.code !== 'BAD_USER_INPUT') return problem;
  const [field, reason] = Object.entries(problem.fields)[0] ?? [];
  if (!field) return problem;
  return { ...problem, message: field === 'after' ? `No more results: ${reason}.` : `${field}: ${reason}` };
}
