import type { ResultOf } from '../api/graphql';
import type { ProductCard as ProductCardFragment } from '../api/ops/catalog';
import { formatMoney, lowestPrice } from '../lib/money';
import { Link } from '../router';

type Product = ResultOf<typeof ProductCardFragment>;

export function ProductCard({ product }: { product: Product }) {
  const price = lowestPrice(product.variants);
  const available = product.variants.reduce((n, v) => n + v.available, 0);
  return (
    <li class="card">
      <Link href={`/products/${product.id}`} class="card-link">
        {product.imageUrl ? (
          <img src={product.imageUrl} alt="" loading="lazy" width={320} height={240} />
        ) : (
          <div class="placeholder" aria-hidden="true" />
        )}
        <span class="card-name">{product.name}</span>
      </Link>
      <span class="muted">
        {product.category} · {product.seller.storeName ?? 'Independent seller'}
      </span>
      <span>
        {price ? `from ${formatMoney(price)}` : ''} {available === 0 && <em>(sold out)</em>}
      </span>
    </li>
  );
}

export function ProductGrid({ products, label }: { products: readonly Product[]; label: string }) {
  return (
    <ul class="grid" aria-label={label}>
      {products.map((p) => (
        <ProductCard key={p.id} product={p} />
      ))}
    </ul>
  );
}
