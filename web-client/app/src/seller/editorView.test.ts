import { describe, expect, it } from 'vitest';
import { editorView, type Read } from './editorView';

const p = (version: number, name = `v${version}`) => ({ id: 'p1', version, name });
type P = ReturnType<typeof p>;
const found = (product: P | null, more: Partial<Read<P>> = {}): Read<P> => ({ product, stale: false, problem: null, ...more });

describe('the editor view', () => {
  it('loads until myProduct answers', () => {
    expect(editorView(null, null, null)).toEqual({ at: 'loading' });
    // The stream alone is no proof the product is the seller's own.
    expect(editorView(null, { product: p(1) }, null)).toEqual({ at: 'loading' });
  });

  it('says not found when myProduct answers null', () => {
    expect(editorView(found(null), null, null)).toEqual({ at: 'missing' });
    // Even when the stream shows it (another seller's active product).
    expect(editorView(found(null), { product: p(3) }, null)).toEqual({ at: 'missing' });
  });

  it('shows an error that came with a null answer instead of not found', () => {
    const problem = { code: 'TIMEOUT', message: 'busy', fields: {} };
    expect(editorView(found(null, { problem }), null, null)).toEqual({ at: 'problem', problem });
  });

  it('waits for a product this tab wrote that the catalog does not hold yet', () => {
    expect(editorView(found(null, { stale: true }), null, null)).toEqual({ at: 'saving' });
    expect(editorView(found(null, { stale: true }), { product: p(1) }, null)).toEqual({ at: 'editing', product: p(1) });
  });

  it('shows the newest of the read, the stream and this tab’s writes', () => {
    expect(editorView(found(p(2)), null, null)).toEqual({ at: 'editing', product: p(2) });
    expect(editorView(found(p(2)), { product: p(3) }, null)).toEqual({ at: 'editing', product: p(3) });
    expect(editorView(found(p(2)), { product: p(3) }, p(4))).toEqual({ at: 'editing', product: p(4) });
    expect(editorView(found(p(5)), { product: p(3) }, p(4))).toEqual({ at: 'editing', product: p(5) });
  });

  it('says so when the product is deleted while open', () => {
    expect(editorView(found(p(2)), { product: null, gone: 'DELETED' }, null)).toEqual({ at: 'deleted' });
  });
});
