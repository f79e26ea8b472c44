// An order's timeline, merged from the order query and the orderStatus subscription. The
// subscription sends the current status first on every (re)subscribe, so the same step can
// arrive more than once: a step is identified by its status and instant.
export type OrderStatus =
  | 'PENDING'
  | 'STOCK_HELD'
  | 'PAID'
  | 'CONFIRMED'
  | 'REJECTED'
  | 'PAYMENT_FAILED'
  | 'CANCELLED'
  | 'EXPIRED';

export interface Step {
  status: OrderStatus;
  reason?: string | null;
  at: string;
}

const TERMINAL: ReadonlySet<OrderStatus> = new Set(['CONFIRMED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED', 'EXPIRED']);

export const isTerminal = (s: OrderStatus) => TERMINAL.has(s);
export const isFailure = (s: OrderStatus) => TERMINAL.has(s) && s !== 'CONFIRMED';

export const STATUS_LABEL: Record<OrderStatus, string> = {
  PENDING: 'Order placed',
  STOCK_HELD: 'Stock reserved',
  PAID: 'Payment taken',
  CONFIRMED: 'Confirmed',
  REJECTED: 'Rejected',
  PAYMENT_FAILED: 'Payment failed',
  CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
};

const key = (s: Step) => `${s.status}@${Date.parse(s.at)}`;

export function mergeTimeline(current: readonly Step[], incoming: readonly Step[]): Step[] {
  const byKey = new Map(current.map((s) => [key(s), s]));
  for (const s of incoming) if (!byKey.has(key(s))) byKey.set(key(s), s);
  return [...byKey.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
