import { describe, expect, it } from 'vitest';
import { mergeTimeline, type Step } from './timeline';

const step = (status: Step['status'], at: string): Step => ({ status, at, reason: null });

describe('order timeline', () => {
  it('drops the current status resent on every resubscribe', () => {
    const seen = [step('PENDING', '2026-01-01T10:00:00Z'), step('STOCK_HELD', '2026-01-01T10:00:01Z')];
    const merged = mergeTimeline(seen, [step('STOCK_HELD', '2026-01-01T10:00:01.000Z'), step('PAID', '2026-01-01T10:00:02Z')]);
    expect(merged.map((s) => s.status)).toEqual(['PENDING', 'STOCK_HELD', 'PAID']);
  });

  it('orders steps by time whatever order they arrive in', () => {
    const merged = mergeTimeline([step('CONFIRMED', '2026-01-01T10:00:03Z')], [step('PENDING', '2026-01-01T10:00:00Z')]);
    expect(merged.map((s) => s.status)).toEqual(['PENDING', 'CONFIRMED']);
  });
});
