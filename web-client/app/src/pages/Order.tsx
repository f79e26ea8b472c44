// An order, live: the timeline merges the order's recorded transitions with the orderStatus
// subscription. After the socket reconnects (graphql-ws resubscribes by itself) the order is
// read again, so steps missed while offline appear; duplicates are merged away.
import { useMutation, useQuery, useSubscription } from '@urql/preact';
import { useEffect, useMemo } from 'preact/hooks';
import { socketStatus } from '../api';
import type { ResultOf } from '../api/graphql';
import { CancelOrderMutation, OrderQuery, OrderStatusSubscription } from '../api/ops/orders';
import { Address } from '../components/Address';
import { PageTitle } from '../components/PageTitle';
import { Loading, ProblemNote } from '../components/Status';
import { problemOf } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { useExternal } from '../lib/store';
import { Link } from '../router';
import { isFailure, isTerminal, mergeTimeline, STATUS_LABEL, type Step } from '../orders/timeline';

type Order = NonNullable<ResultOf<typeof OrderQuery>['order']>;

export function OrderPage({ id }: { id: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: OrderQuery, variables: { id } });
  const [live] = useSubscription({ query: OrderStatusSubscription, variables: { orderId: id } }, (steps: Step[] = [], event) =>
    mergeTimeline(steps, [event.orderStatus]),
  );
  const socket = useExternal(socketStatus, socketStatus.get);
  const latest = live.data?.at(-1);

  // Read the whole order again when the socket comes back or the saga ends.
  useEffect(() => {
    if (socket.connections > 1 || (latest && isTerminal(latest.status))) refetch({ requestPolicy: 'network-only' });
  }, [socket.connections, latest?.status]);

  const timeline = useMemo(() => mergeTimeline(data?.order.transitions ?? [], live.data ?? []), [data, live.data]);
  if (!data) return fetching ? <Loading what="Loading order" /> : <ProblemNote problem={problemOf(error)} />;
  return <OrderView order={data.order} timeline={timeline} reconnecting={socket.state === 'reconnecting'} />;
}

function OrderView({ order, timeline, reconnecting }: { order: Order; timeline: Step[]; reconnecting: boolean }) {
  const current = timeline.at(-1) ?? { status: order.status, reason: order.reason, at: order.createdAt };
  const done = isTerminal(current.status);
  return (
    <>
      <PageTitle title="Order">Order {order.id.slice(0, 8)}</PageTitle>
      <p class={`status ${isFailure(current.status) ? 'bad' : done ? 'good' : ''}`} aria-live="polite" data-testid="order-status">
        {STATUS_LABEL[current.status]}
        {current.reason && `: ${current.reason}`}
      </p>
      {reconnecting && !done && <p role="status" class="muted">Connection lost, reconnecting…</p>}
      <h2>Timeline</h2>
      <ol class="timeline" aria-label="Order timeline">
        {timeline.map((s) => (
          <li key={`${s.status}@${s.at}`} data-status={s.status}>
            <strong>{STATUS_LABEL[s.status]}</strong>{' '}
            <time dateTime={s.at}>{new Date(s.at).toLocaleTimeString()}</time>
            {s.reason && <span> — {s.reason}</span>}
          </li>
        ))}
      </ol>
      <h2>Items</h2>
      <ul>
        {order.lines.map((l) => (
          <li key={l.variantId}>
            {l.quantity} × <Link href={`/products/${l.productId}`}>{l.sku}</Link> at {formatMoney(l.unitPrice)}
          </li>
        ))}
      </ul>
      <p>
        Total: <strong>{formatMoney(order.total)}</strong>
      </p>
      {order.shippingAddress && (
        <>
          <h2>Shipping to</h2>
          <Address address={order.shippingAddress} />
        </>
      )}
      {!done && current.status !== 'CONFIRMED' && <CancelButton id={order.id} />}
    </>
  );
}

function CancelButton({ id }: { id: string }) {
  const [state, cancel] = useMutation(CancelOrderMutation);
  return (
    <>
      <ProblemNote problem={problemOf(state.error)} />
      <button type="button" class="danger" disabled={state.fetching} onClick={() => cancel({ id })}>
        Cancel order
      </button>
    </>
  );
}
