// The seller console: every own product in any status, reading at least the versions this tab
// wrote (consistency tokens), so a product just created or changed is listed at once.
import { useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import { MyProductsQuery } from '../../api/ops/inventory';
import { PageTitle } from '../../components/PageTitle';
import { Empty, Loading, ProblemNote } from '../../components/Status';
import { isStale, problemOf } from '../../lib/errors';
import { formatMoney, lowestPrice } from '../../lib/money';
import { useExternal } from '../../lib/store';
import { Link } from '../../router';
import { writes } from '../../seller/writes';

const PAGE_SIZE = 20;

export function Console() {
  const tokens = useExternal(writes, () => Object.values(writes.get()));
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return (
    <>
      <PageTitle title="Seller console">Your products</PageTitle>
      <p class="actions">
        <Link href="/sell/new" class="button">New product</Link> <Link href="/sell/sales">Your sales</Link>
      </p>
      {cursors.map((after, i) => (
        <ProductsPage key={after} after={after} first={i === 0} tokens={tokens}
          onMore={i === cursors.length - 1 ? (c) => setCursors([...cursors, c]) : undefined} />
      ))}
    </>
  );
}

interface PageProps {
  after: string | null;
  first: boolean;
  tokens: string[];
  onMore?: (cursor: string) => void;
}

function ProductsPage({ after, first, tokens, onMore }: PageProps) {
  const [{ data, fetching, error }] = useQuery({
    query: MyProductsQuery,
    variables: { first: PAGE_SIZE, after, consistency: tokens.length ? tokens : null },
  });
  if (!data) return fetching ? <Loading what="Loading your products" /> : <ProblemNote problem={problemOf(error)} />;
  const { edges, pageInfo } = data.myProducts;
  if (first && !edges.length) return <Empty>No products yet. Create your first one.</Empty>;
  return (
    <>
      {isStale(error) && <p role="status" class="muted">Some recent changes are still being saved; they will show shortly.</p>}
      <table class="lines">
        <caption class="visually-hidden">Your products</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Status</th>
            <th scope="col">From</th>
            <th scope="col">Stock</th>
          </tr>
        </thead>
        <tbody>
          {edges.map(({ node: p }) => {
            const price = lowestPrice(p.variants);
            return (
              <tr key={p.id}>
                <td>
                  <Link href={`/sell/products/${p.id}`}>{p.name}</Link>
                </td>
                <td>{p.status.toLowerCase()}</td>
                <td>{price ? formatMoney(price) : '—'}</td>
                <td>{p.variants.reduce((n, v) => n + v.available, 0)} available</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {onMore && pageInfo.hasNextPage && pageInfo.endCursor && (
        <button type="button" class="more" onClick={() => onMore(pageInfo.endCursor!)}>
          More products
        </button>
      )}
    </>
  );
}
