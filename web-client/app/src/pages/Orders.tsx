import { useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import { MyOrdersQuery } from '../api/ops/orders';
import { PageTitle } from '../components/PageTitle';
import { Empty, Loading, ProblemNote } from '../components/Status';
import { problemOf } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { STATUS_LABEL } from '../orders/timeline';
import { Link } from '../router';

const PAGE_SIZE = 10;

export function Orders() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return (
    <>
      <PageTitle title="Your orders">Your orders</PageTitle>
      {cursors.map((after, i) => (
        <OrdersPage key={after} after={after} first={i === 0}
          onMore={i === cursors.length - 1 ? (c) => setCursors([...cursors, c]) : undefined} />
      ))}
    </>
  );
}

function OrdersPage({ after, first, onMore }: { after: string | null; first: boolean; onMore?: (cursor: string) => void }) {
  const [{ data, fetching, error }] = useQuery({ query: MyOrdersQuery, variables: { first: PAGE_SIZE, after } });
  if (!data) return fetching ? <Loading what="Loading orders" /> : <ProblemNote problem={problemOf(error)} />;
  const { edges, pageInfo } = data.myOrders;
  if (first && !edges.length) return <Empty>You have no orders yet.</Empty>;
  return (
    <>
      <ul class="orders">
        {edges.map(({ node: o }) => (
          <li key={o.id}>
            <Link href={`/orders/${o.id}`}>Order {o.id.slice(0, 8)}</Link> · {new Date(o.createdAt).toLocaleString()} ·{' '}
            {o.lines.map((l) => `${l.quantity} × ${l.sku}`).join(', ')} · {formatMoney(o.total)} ·{' '}
            <strong>{STATUS_LABEL[o.status]}</strong>
          </li>
        ))}
      </ul>
      {onMore && pageInfo.hasNextPage && pageInfo.endCursor && (
        <button type="button" class="more" onClick={() => onMore(pageInfo.endCursor!)}>
          More orders
        </button>
      )}
    </>
  );
}
