// Publish, unpublish, archive, delete. Each answers the product as it now is.
import { useMutation } from '@urql/preact';
import {
  DeleteProductMutation,
  PublishProductMutation,
  UnpublishProductMutation,
} from '../../api/ops/inventory';
import { ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { navigate } from '../../router';
import type { OnSaved, Product } from './Editor';

export function StatusActions({ product, onSaved }: { product: Product; onSaved: OnSaved }) {
  const [published, publish] = useMutation(PublishProductMutation);
  const [unpublished, unpublish] = useMutation(UnpublishProductMutation);
  const [deleted, remove] = useMutation(DeleteProductMutation);
  const busy = published.fetching || unpublished.fetching || deleted.fetching;
  const { id, status } = product;

  const run = async (write: Promise<{ data?: Record<string, Product> }>) => {
    const data = (await write).data;
    if (data) onSaved(Object.values(data)[0]);
  };
  const del = async () => {
    if (!confirm(`Delete “${product.name}”? Buyers will no longer see it.`)) return;
    const result = await remove({ id, expectedVersion: product.version });
    if (result.data) navigate('/sell');
  };

  return (
    <section aria-labelledby="status-h">
      <h2 id="status-h">Availability</h2>
      <ProblemNote problem={problemOf(published.error ?? unpublished.error ?? deleted.error)} />
      <p class="actions">
        {status !== 'ACTIVE' && (
          <button type="button" disabled={busy} onClick={() => run(publish({ id }))}>Publish</button>
        )}
        {status === 'ACTIVE' && (
          <button type="button" class="secondary" disabled={busy} onClick={() => run(unpublish({ id, archive: false }))}>
            Unpublish (back to draft)
          </button>
        )}
        {status !== 'ARCHIVED' && (
          <button type="button" class="secondary" disabled={busy} onClick={() => run(unpublish({ id, archive: true }))}>
            Archive
          </button>
        )}
        <button type="button" class="danger" disabled={busy} onClick={del}>Delete</button>
      </p>
    </section>
  );
}
