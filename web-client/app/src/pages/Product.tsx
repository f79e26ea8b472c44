// A product as a buyer sees it: live (productChanged keeps price and availability current),
// with its variants, the seller's store and an add-to-cart form.
import { useQuery, useSubscription } from '@urql/preact';
import { useState } from 'preact/hooks';
import type { ResultOf } from '../api/graphql';
import { ProductLiveSubscription, ProductQuery } from '../api/ops/catalog';
import { cart } from '../cart';
import { Field } from '../components/Field';
import { PageTitle } from '../components/PageTitle';
import { Empty, Loading, ProblemNote } from '../components/Status';
import { problemOf } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { Link } from '../router';

type Product = NonNullable<ResultOf<typeof ProductQuery>['product']>;

export function ProductPage({ id }: { id: string }) {
  const [{ data, fetching, error }] = useQuery({ query: ProductQuery, variables: { id } });
  const [live] = useSubscription({ query: ProductLiveSubscription, variables: { id } });
  const change = live.data?.productChanged;
  const product = change && change.product && change.version >= (data?.product?.version ?? 0) ? change.product : data?.product;
  if (!product) {
    if (fetching) return <Loading what="Loading product" />;
    return error ? <ProblemNote problem={problemOf(error)} /> : <Gone />;
  }
  if (change?.gone) return <Gone />;
  return <ProductView product={product} />;
}

function Gone() {
  return (
    <>
      <PageTitle title="Not available">Product not available</PageTitle>
      <Empty>
        This product is not in the catalog. <Link href="/catalog">Back to the catalog</Link>
      </Empty>
    </>
  );
}

function ProductView({ product }: { product: Product }) {
  const [variantId, setVariantId] = useState(product.variants[0]?.id ?? '');
  const [quantity, setQuantity] = useState('1');
  const [added, setAdded] = useState(false);
  const variant = product.variants.find((v) => v.id === variantId) ?? product.variants[0];
  const qty = Number(quantity);
  const qtyError = Number.isInteger(qty) && qty >= 1 && qty <= (variant?.available ?? 0) ? undefined : `Choose 1 to ${variant?.available ?? 0}`;

  const add = (e: Event) => {
    e.preventDefault();
    if (!variant || qtyError) return;
    cart.add({
      variantId: variant.id,
      productId: product.id,
      productName: product.name,
      variantName: variant.name,
      unitPrice: variant.price,
      quantity: qty,
    });
    setAdded(true);
  };

  return (
    <article class="product">
      {product.imageUrl ? (
        <img class="product-image" src={product.imageUrl} alt={product.name} width={480} height={360} />
      ) : (
        <div class="placeholder product-image" aria-hidden="true" />
      )}
      <div>
        <PageTitle title={product.name}>{product.name}</PageTitle>
        <p class="muted">
          {product.category} · sold by{' '}
          <Link href={`/sellers/${product.sellerId}`}>{product.seller.storeName ?? 'an independent seller'}</Link>
        </p>
        {product.description && <p>{product.description}</p>}
        <form onSubmit={add}>
          <fieldset>
            <legend>Variant</legend>
            {product.variants.map((v) => (
              <label key={v.id} class="variant">
                <input type="radio" name="variant" value={v.id} checked={v.id === variant?.id}
                  onChange={() => { setVariantId(v.id); setAdded(false); }} />
                <span>{v.name}</span> <strong>{formatMoney(v.price)}</strong>{' '}
                <span class={v.available ? 'muted' : 'error'}>{v.available ? `${v.available} available` : 'sold out'}</span>
              </label>
            ))}
          </fieldset>
          <Field label="Quantity" type="number" min={1} value={quantity} onValue={(v) => { setQuantity(v); setAdded(false); }}
            error={variant?.available ? qtyError : undefined} />
          <button type="submit" disabled={!variant?.available}>Add to cart</button>
          {added && (
            <p role="status">
              Added to your cart. <Link href="/cart">Go to cart</Link>
            </p>
          )}
        </form>
      </div>
    </article>
  );
}
