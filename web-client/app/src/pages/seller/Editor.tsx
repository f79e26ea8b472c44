// Editing one own product. `myProduct` loads it (in any status), waiting for this tab's last
// write of it (its consistency token), and answers null for an id that is not the seller's: the
// editor then says so. `productChanged` keeps it current (the image once storage's notification
// lands, saves from other tabs), and the results of this tab's own writes are newer until the
// catalog catches up (see src/seller/editorView.ts).
import { useQuery, useSubscription } from '@urql/preact';
import { useState } from 'preact/hooks';
import type { ResultOf } from '../../api/graphql';
import { MyProductLiveSubscription, MyProductQuery, SellerProduct } from '../../api/ops/inventory';
import { PageTitle } from '../../components/PageTitle';
import { Empty, Loading, ProblemNote } from '../../components/Status';
import { isStale, problemOf } from '../../lib/errors';
import { Link } from '../../router';
import { editorView } from '../../seller/editorView';
import { rememberWrite, writes } from '../../seller/writes';
import { DetailsForm } from './DetailsForm';
import { ImageSection } from './ImageSection';
import { StatusActions } from './StatusActions';
import { Variants } from './Variants';

export type Product = ResultOf<typeof SellerProduct>;
/** Every section reports the product its write returned. */
export type OnSaved = (p: Product) => void;

export function Editor({ id }: { id: string }) {
  // The token of this tab's newest write of this product when the page opened; later writes
  // show through their own results, so the read is not repeated for each new token.
  const [token] = useState(() => writes.get()[id]);
  const [read] = useQuery({ query: MyProductQuery, variables: { id, consistency: token ? [token] : null } });
  const answer = read.data
    ? { product: read.data.myProduct ?? null, stale: isStale(read.error), problem: problemOf(read.error) }
    : null;
  // Follow only what the read found to be the seller's own (or this tab is still saving).
  const own = !!answer && (!!answer.product || answer.stale);
  const [live] = useSubscription({ query: MyProductLiveSubscription, variables: { id }, pause: !own });
  const [written, setWritten] = useState<Product | null>(null);
  const view = editorView(answer, live.data?.productChanged ?? null, written);

  const onSaved: OnSaved = (p) => {
    rememberWrite(p);
    setWritten(p);
  };

  switch (view.at) {
    case 'loading':
      return read.error && !read.fetching ? <ProblemNote problem={problemOf(read.error)} /> : <Loading what="Loading product" />;
    case 'saving':
      return <Loading what="This product is still being saved. It will show in a moment" />;
    case 'problem':
      return <ProblemNote problem={view.problem} />;
    case 'missing':
    case 'deleted':
      return (
        <>
          <PageTitle title="Product not found">Product not found</PageTitle>
          <Empty>
            {view.at === 'deleted'
              ? 'This product was deleted.'
              : 'None of your products has this address: it may have been deleted, or belong to another seller.'}{' '}
            <Link href="/sell">Back to your products</Link>
          </Empty>
        </>
      );
  }
  const { product } = view;
  return (
    <>
      <PageTitle title={`Edit ${product.name}`}>{product.name}</PageTitle>
      <p class="muted">
        Status: <strong data-testid="product-status">{product.status.toLowerCase()}</strong> · version {product.version}{' '}
        · <Link href="/sell">All your products</Link>
      </p>
      <StatusActions product={product} onSaved={onSaved} />
      <ImageSection product={product} />
      <DetailsForm latest={product} onSaved={onSaved} />
      <Variants product={product} onSaved={onSaved} />
    </>
  );
}
