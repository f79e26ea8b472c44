// A product listing with cursor paging: each page is its own query (so urql caches each), and
// "More products" appends the next page after the last one's endCursor.
import { useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import type { VariablesOf } from '../api/graphql';
import { ProductsQuery } from '../api/ops/catalog';
import { problemOf } from '../lib/errors';
import { ProductGrid } from './ProductCard';
import { Empty, Loading, ProblemNote } from './Status';

type Filter = NonNullable<VariablesOf<typeof ProductsQuery>['filter']>;
type Sort = VariablesOf<typeof ProductsQuery>['sort'];

export const PAGE_SIZE = 12;

export function ProductList(props: { filter: Filter; sort: Sort }) {
  // Another listing starts again from its first page (cursors belong to one listing).
  return <Pages key={JSON.stringify(props)} {...props} />;
}

function Pages({ filter, sort }: { filter: Filter; sort: Sort }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return (
    <div>
      {cursors.map((after, i) => (
        <ProductPage
          key={after}
          filter={filter}
          sort={sort}
          after={after}
          page={i + 1}
          onMore={i === cursors.length - 1 ? (next) => setCursors([...cursors, next]) : undefined}
        />
      ))}
    </div>
  );
}

interface PageProps {
  filter: Filter;
  sort: Sort;
  after: string | null;
  page: number;
  onMore?: (cursor: string) => void;
}

function ProductPage({ filter, sort, after, page, onMore }: PageProps) {
  const [{ data, fetching, error }] = useQuery({
    query: ProductsQuery,
    variables: { filter, sort, first: PAGE_SIZE, after },
  });
  if (!data) return fetching ? <Loading what="Loading products" /> : <ProblemNote problem={problemOf(error)} />;
  const { edges, pageInfo } = data.products;
  if (page === 1 && edges.length === 0) return <Empty>No products match these filters.</Empty>;
  return (
    <>
      <ProductGrid products={edges.map((e) => e.node)} label={`Products, page ${page}`} />
      {onMore && pageInfo.hasNextPage && pageInfo.endCursor && (
        <button type="button" class="more" onClick={() => onMore(pageInfo.endCursor!)}>
          More products
        </button>
      )}
    </>
  );
}
