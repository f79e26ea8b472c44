import { useQuery } from '@urql/preact';
import { SellerQuery } from '../api/ops/catalog';
import { PageTitle } from '../components/PageTitle';
import { ProductList } from '../components/ProductList';
import { Loading, ProblemNote } from '../components/Status';
import { problemOf } from '../lib/errors';

/** A seller's storefront: their public merchant info and their active products. */
export function SellerPage({ id }: { id: string }) {
  const [{ data, fetching, error }] = useQuery({ query: SellerQuery, variables: { id } });
  if (!data) return fetching ? <Loading what="Loading store" /> : <ProblemNote problem={problemOf(error)} />;
  const name = data.seller.storeName ?? 'Independent seller';
  return (
    <>
      <PageTitle title={name}>{name}</PageTitle>
      {data.seller.description && <p>{data.seller.description}</p>}
      <h2>Products</h2>
      <ProductList filter={{ sellerId: id }} sort="NEWEST" />
    </>
  );
}
