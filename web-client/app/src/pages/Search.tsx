// Search results. The URL holds the search (text, filters, sort: see search/state.ts); the first
// page brings the total and the facets, and "More results" appends the pages after it by cursor.
import { createRequest } from '@urql/core';
import { useQuery } from '@urql/preact';
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import type { ResultOf, VariablesOf } from '../api/graphql';
import { SearchQuery, SellerQuery } from '../api/ops/catalog';
import { Select } from '../components/Field';
import { PageTitle } from '../components/PageTitle';
import { ProductGrid } from '../components/ProductCard';
import { searchTextProblem } from '../components/SearchBox';
import { Empty, Loading, ProblemNote } from '../components/Status';
import { problemOf } from '../lib/errors';
import { CURRENCY } from '../lib/money';
import { Link, navigate, useLocation } from '../router';
import {
  filterCount,
  parseSearch,
  priceRangeLabel,
  sameRange,
  searchHref,
  searchProblem,
  SORTS,
  toFilter,
  type SearchSort,
  type SearchState,
} from '../search/state';

type Variables = VariablesOf<typeof SearchQuery>;
type Facets = ResultOf<typeof SearchQuery>['search']['facets'];

const PAGE_SIZE = 24;
/** Results past this one are never served: narrowing is the way to the rest. */
const RESULT_CAP = 1000;
/** Facet values shown before "Show all". */
const SHOWN = 8;
const TEXT_PROBLEM_ID = 'search-text-problem';

export function SearchPage() {
  const { query } = useLocation();
  const state = parseSearch(query);
  return (
    <>
      <PageTitle title={titleOf(state)}>{state.q ? `Results for “${state.q}”` : 'Search'}</PageTitle>
      {state.q ? <Results state={state} /> : <p>Type what you are looking for in the search box at the top of the page.</p>}
    </>
  );
}

/** The document title names the text and the filters: a new one moves focus to the heading. */
function titleOf(state: SearchState): string {
  if (!state.q) return 'Search';
  const q = state.q.length > 60 ? `${state.q.slice(0, 60)}…` : state.q;
  const filters = [state.category, state.seller && 'one seller', state.price && priceRangeLabel(state.price, CURRENCY)].filter(Boolean);
  return `Search: ${q}${filters.length ? ` (${filters.join(', ')})` : ''}`;
}

function Results({ state }: { state: SearchState }) {
  const variables: Variables = useMemo(
    () => ({ query: state.q, filter: toFilter(state), sort: state.sort, first: PAGE_SIZE, after: null, facets: ['CATEGORY', 'SELLER', 'PRICE'] }),
    [JSON.stringify(state)],
  );
  const key = useMemo(() => createRequest(SearchQuery, variables).key, [variables]);
  const [{ data, fetching, error, operation }] = useQuery({ query: SearchQuery, variables });
  const problem = problemOf(error);
  const textProblem = problem?.fields.query;
  useEffect(() => {
    searchTextProblem.set(textProblem ? TEXT_PROBLEM_ID : null);
    return () => searchTextProblem.set(null);
  }, [textProblem]);

  if (textProblem) {
    return (
      <div class="problem" role="alert">
        <p id={TEXT_PROBLEM_ID}>Your search {textProblem}.</p>
      </div>
    );
  }
  if (!data) return fetching ? <Loading what="Loading results" /> : <ProblemNote problem={searchProblem(problem)} />;

  // While another search loads, the previous results stay, dimmed, under a loading note.
  const current = operation?.key === key;
  const { total, edges, pageInfo, facets } = data.search;
  const filters = filterCount(state);
  const cleared = searchHref({ q: state.q, sort: state.sort });
  const refine = total > 0 || filters > 0;
  return (
    <div class={refine ? 'search' : 'search alone'}>
      <div class="search-bar">
        <p role="status" class="total">
          {current ? plural(total, 'result') : 'Loading results…'}
        </p>
        <Select label="Sort by" value={state.sort} name="sort" options={SORTS}
          onValue={(sort) => navigate(searchHref({ ...state, sort: sort as SearchSort }))} />
      </div>
      {refine && <Refine state={state} facets={facets} names={storeNames(data)} filters={filters} cleared={cleared} />}
      <div class="search-results" aria-busy={current ? undefined : true}>
        <ProblemNote problem={searchProblem(problem)} />
        {edges.length === 0 ? (
          <Empty>
            No products match “{state.q}”{filters ? ' with these filters' : ''}.{' '}
            {filters ? <Link href={cleared}>Clear all filters</Link> : 'Check the spelling, or try fewer words.'}
          </Empty>
        ) : (
          <>
            <ProductGrid products={edges.map((e) => e.node)} label="Results, page 1" />
            <MorePages key={key} variables={variables} next={pageInfo.hasNextPage ? pageInfo.endCursor : null} total={total} />
          </>
        )}
      </div>
    </div>
  );
}

/** The pages after the first, each its own query (without facets), appended by cursor. */
function MorePages({ variables, next, total }: { variables: Variables; next: string | null; total: number }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const more = (cursor: string) => setCursors([...cursors, cursor]);
  if (!cursors.length) return <PageEnd next={next} total={total} onMore={more} />;
  return (
    <>
      {cursors.map((after, i) => (
        <ResultsPage key={after} variables={{ ...variables, after, facets: [] }} page={i + 2} total={total}
          onMore={i === cursors.length - 1 ? more : undefined} />
      ))}
    </>
  );
}

function ResultsPage({ variables, page, total, onMore }: { variables: Variables; page: number; total: number; onMore?: (cursor: string) => void }) {
  const [{ data, fetching, error }] = useQuery({ query: SearchQuery, variables });
  const ref = useRef<HTMLDivElement>(null);
  const arrived = !!data;
  // The "More results" button is gone once its page arrives: focus the first new result.
  useEffect(() => {
    if (arrived) ref.current?.querySelector<HTMLElement>('a')?.focus();
  }, [arrived]);
  if (!data) return fetching ? <Loading what="Loading more results" /> : <ProblemNote problem={searchProblem(problemOf(error))} />;
  const { edges, pageInfo } = data.search;
  return (
    <div ref={ref}>
      <ProductGrid products={edges.map((e) => e.node)} label={`Results, page ${page}`} />
      {onMore && <PageEnd next={pageInfo.hasNextPage ? pageInfo.endCursor : null} total={total} onMore={onMore} />}
    </div>
  );
}

function PageEnd({ next, total, onMore }: { next: string | null; total: number; onMore: (cursor: string) => void }) {
  if (next) {
    return (
      <button type="button" class="more" onClick={() => onMore(next)}>
        More results
      </button>
    );
  }
  if (total <= RESULT_CAP) return null;
  return (
    <p class="muted">
      Search shows the first {RESULT_CAP.toLocaleString()} of {total.toLocaleString()} matches: add a word or a filter to
      narrow it.
    </p>
  );
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

/** Store names the results already carry (seller id → name, null when unnamed). */
function storeNames(data: ResultOf<typeof SearchQuery>): Map<string, string | null> {
  return new Map(data.search.edges.map((e) => [e.node.seller.id, e.node.seller.storeName ?? null]));
}

interface RefineProps {
  state: SearchState;
  facets: Facets;
  names: Map<string, string | null>;
  filters: number;
  cleared: string;
}

/** The facets: each value a link to the search narrowed by it, with how many results it keeps. */
function Refine({ state, facets, names, filters, cleared }: RefineProps) {
  // Open beside the results on a wide screen; folded above them on a phone.
  const wide = useMemo(() => typeof matchMedia === 'function' && matchMedia('(min-width: 48rem)').matches, []);
  return (
    <details class="refine" open={wide}>
      <summary>Filters{filters ? ` (${filters} applied)` : ''}</summary>
      {filters > 0 && (
        <p>
          <Link href={cleared}>Clear all filters</Link>
        </p>
      )}
      <Facet
        title="Category"
        noun="categories"
        all={state.category ? { label: 'All categories', href: searchHref({ ...state, category: null }) } : null}
        values={facets.categories.map((c) => ({
          key: c.value,
          label: c.value,
          count: c.count,
          current: c.value === state.category,
          href: searchHref({ ...state, category: c.value }),
        }))}
      />
      <Facet
        title="Seller"
        noun="sellers"
        all={state.seller ? { label: 'All sellers', href: searchHref({ ...state, seller: null }) } : null}
        values={facets.sellers.map((s) => ({
          key: s.value,
          label: <SellerName id={s.value} known={names.get(s.value)} />,
          count: s.count,
          current: s.value === state.seller,
          href: searchHref({ ...state, seller: s.value }),
        }))}
      />
      <Facet
        title="Price"
        noun="price ranges"
        all={state.price ? { label: 'Any price', href: searchHref({ ...state, price: null }) } : null}
        values={facets.prices.map((range) => ({
          key: `${range.min}-${range.max}`,
          label: priceRangeLabel(range, CURRENCY),
          count: range.count,
          current: sameRange(range, state.price),
          href: range.count ? searchHref({ ...state, price: { min: range.min ?? null, max: range.max ?? null } }) : null,
        }))}
      />
    </details>
  );
}

interface FacetValue {
  key: string;
  label: ComponentChildren;
  count: number;
  current: boolean;
  /** Null when choosing it would leave nothing. */
  href: string | null;
}

function Facet({ title, noun, all, values }: { title: string; noun: string; all: { label: string; href: string } | null; values: FacetValue[] }) {
  const id = useId();
  const [expanded, setExpanded] = useState(false);
  if (!values.length && !all) return null;
  const shown = expanded ? values : values.slice(0, SHOWN);
  return (
    <section class="facet" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ul>
        {all && (
          <li>
            <Link href={all.href}>{all.label}</Link>
          </li>
        )}
        {shown.map((v) => (
          <li key={v.key}>
            {v.current ? (
              <span class="current" aria-current="true">
                {v.label} ({v.count})
              </span>
            ) : v.href ? (
              <Link href={v.href}>
                {v.label} ({v.count})
              </Link>
            ) : (
              <span class="muted">
                {v.label} ({v.count})
              </span>
            )}
          </li>
        ))}
      </ul>
      {values.length > SHOWN && (
        <button type="button" class="link" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? `Show fewer ${noun}` : `Show all ${values.length} ${noun}`}
        </button>
      )}
    </section>
  );
}

/** A seller's store name: from the results when they carry it, else asked (only for the values shown). */
function SellerName({ id, known }: { id: string; known: string | null | undefined }) {
  const [{ data }] = useQuery({ query: SellerQuery, variables: { id }, pause: known !== undefined });
  const name = known !== undefined ? known : data?.seller.storeName;
  return <>{name ?? `Seller ${id.slice(0, 8)}`}</>;
}
