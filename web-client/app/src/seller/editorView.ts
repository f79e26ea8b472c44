// What the seller's product editor shows, from its three sources: the `myProduct` read (the
// gate: only it says the product is the seller's own), the `productChanged` stream (newer
// versions: the image once storage's notification lands, other tabs' saves, stock held by
// orders) and the results of this tab's own writes (newer until the catalog catches up).
import type { Problem } from '../lib/errors';

interface Versioned {
  version: number;
}

export interface Read<P> {
  /** `myProduct` as answered. */
  product: P | null;
  /** A STALE_READ came with it: the catalog does not hold this tab's last write yet. */
  stale: boolean;
  /** Any other error that came with it. */
  problem: Problem | null;
}

export interface Change<P> {
  product?: P | null;
  gone?: string | null;
}

export type EditorView<P> =
  | { at: 'loading' }
  | { at: 'saving' }
  | { at: 'problem'; problem: Problem }
  | { at: 'missing' }
  | { at: 'deleted' }
  | { at: 'editing'; product: P };

/** `read` is null until `myProduct` answers; `live` is the stream's latest step. */
export function editorView<P extends Versioned>(
  read: Read<P> | null,
  live: Change<P> | null,
  written: P | null,
): EditorView<P> {
  if (live?.gone === 'DELETED') return { at: 'deleted' };
  if (!read) return { at: 'loading' };
  // The stream alone proves nothing (anyone may follow an active product): the read must have
  // found it, or this tab wrote it (a stale read of a product still being saved).
  if (!read.product && !read.stale && !written) return read.problem ? { at: 'problem', problem: read.problem } : { at: 'missing' };
  const product = newest(newest(read.product, live?.product ?? null), written);
  return product ? { at: 'editing', product } : { at: 'saving' };
}

export function newest<P extends Versioned>(a: P | null, b: P | null): P | null {
  if (!a || !b) return a ?? b;
  return b.version > a.version ? b : a;
}
