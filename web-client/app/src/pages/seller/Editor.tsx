// Editing one own product. Its source of truth is the productChanged subscription (the only
// read that shows a seller's product in any status), raised by the results of this tab's own
// writes, which are newer until the catalog catches up.
import { useSubscription } from '@urql/preact';
import { useState } from 'preact/hooks';
import type { ResultOf } from '../../api/graphql';
import { MyProductLiveSubscription, SellerProduct } from '../../api/ops/inventory';
import { PageTitle } from '../../components/PageTitle';
import { Empty, Loading } from '../../components/Status';
import { Link } from '../../router';
import { rememberWrite } from '../../seller/writes';
import { DetailsForm } from './DetailsForm';
import { ImageSection } from './ImageSection';
import { StatusActions } from './StatusActions';
import { Variants } from './Variants';

export type Product = ResultOf<typeof SellerProduct>;
/** Every section reports the product its write returned. */
export type OnSaved = (p: Product) => void;

export function Editor({ id }: { id: string }) {
  const [live] = useSubscription({ query: MyProductLiveSubscription, variables: { id } });
  const [written, setWritten] = useState<Product | null>(null);
  const change = live.data?.productChanged;
  const fromCatalog = change?.product ?? null;
  const product = newest(fromCatalog, written);

  const onSaved: OnSaved = (p) => {
    rememberWrite(p);
    setWritten(p);
  };

  if (change?.gone === 'DELETED' || (!product && live.error)) {
    return (
      <>
        <PageTitle title="Product gone">Product not found</PageTitle>
        <Empty>
          This product was deleted or is not yours. <Link href="/sell">Back to your products</Link>
        </Empty>
      </>
    );
  }
  if (!product) return <Loading what="Loading product" />;
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

function newest(a: Product | null, b: Product | null): Product | null {
  if (!a || !b) return a ?? b;
  return b.version > a.version ? b : a;
}
