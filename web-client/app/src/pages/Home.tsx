import { useQuery } from '@urql/preact';
import { RecommendationsQuery } from '../api/ops/catalog';
import { ProductGrid } from '../components/ProductCard';
import { PageTitle } from '../components/PageTitle';
import { Empty, Loading, ProblemNote } from '../components/Status';
import { problemOf } from '../lib/errors';
import { Link } from '../router';

export function Home() {
  const [{ data, fetching, error }] = useQuery({ query: RecommendationsQuery, variables: { first: 8 } });
  return (
    <>
      <PageTitle title="Home">Recommended for you</PageTitle>
      {!data && fetching && <Loading what="Loading recommendations" />}
      <ProblemNote problem={problemOf(error)} />
      {data &&
        (data.recommendations.length ? (
          <ProductGrid products={data.recommendations} label="Recommendations" />
        ) : (
          <Empty>Nothing to recommend yet.</Empty>
        ))}
      <p>
        <Link href="/catalog">Browse the whole catalog</Link>
      </p>
    </>
  );
}
