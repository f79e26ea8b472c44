// The seller's sales: orders holding their products (only their lines), newest first. Each
// order still in flight follows its status live over orderStatus, which sellers of its lines
// may subscribe to; a page stays well under the socket's limit of open operations.
import { useQuery, useSubscription } from '@urql/preact';
import { useState } from 'preact/hooks';
import type { ResultOf } from '../../api/graphql';
import { MySalesQuery, OrderStatusSubscription, SaleSummary } from '../../api/ops/orders';
import { Address } from '../../components/Address';
import { PageTitle } from '../../components/PageTitle';
import { Empty, Loading, ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { formatMoney } from '../../lib/money';
import { isTerminal, STATUS_LABEL } from '../../orders/timeline';

const PAGE_SIZE = 10;

export function Sales() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return (
    <>
      <PageTitle title="Your sales">Your sales</PageTitle>
      {cursors.map((after, i) => (
        <SalesPage key={after} after={after} first={i === 0}
          onMore={i === cursors.length - 1 ? (c) => setCursors([...cursors, c]) : undefined} />
      ))}
    </>
  );
}

function SalesPage({ after, first, onMore }: { after: string | null; first: boolean; onMore?: (cursor: string) => void }) {
  const [{ data, fetching, error }] = useQuery({ query: MySalesQuery, variables: { first: PAGE_SIZE, after } });
  if (!data) return fetching ? <Loading what="Loading sales" /> : <ProblemNote problem={problemOf(error)} />;
  const { edges, pageInfo } = data.mySales;
  if (first && !edges.length) return <Empty>No sales yet.</Empty>;
  return (
    <>
      <ul class="sales" aria-label={first ? 'Sales' : 'More sales'}>
        {edges.map(({ node }) => (
          <Sale key={node.id} sale={node} />
        ))}
      </ul>
      {onMore && pageInfo.hasNextPage && pageInfo.endCursor && (
        <button type="button" class="more" onClick={() => onMore(pageInfo.endCursor!)}>
          More sales
        </button>
      )}
    </>
  );
}

function Sale({ sale }: { sale: ResultOf<typeof SaleSummary> }) {
  const [live] = useSubscription({
    query: OrderStatusSubscription,
    variables: { orderId: sale.id },
    pause: isTerminal(sale.status),
  });
  const current = live.data?.orderStatus ?? { status: sale.status, reason: sale.reason };
  return (
    <li class="sale">
      <p>
        <strong data-testid="sale-status">{STATUS_LABEL[current.status]}</strong>
        {current.reason && ` (${current.reason})`} · {new Date(sale.createdAt).toLocaleString()} · order {sale.id.slice(0, 8)}
      </p>
      <ul>
        {sale.lines.map((l) => (
          <li key={l.sku}>
            {l.quantity} × {l.sku} at {formatMoney(l.unitPrice)}
          </li>
        ))}
      </ul>
      <p>Your share: {formatMoney(sale.total)}</p>
      {sale.shippingAddress && <Address address={sale.shippingAddress} />}
    </li>
  );
}
