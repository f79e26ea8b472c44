// The catalog: filters live in the URL (shareable, back button works) and are applied on submit.
import { useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import { SellerQuery } from '../api/ops/catalog';
import { Field, Select } from '../components/Field';
import { PageTitle } from '../components/PageTitle';
import { ProductList } from '../components/ProductList';
import { CURRENCY, toMajor, toMinor } from '../lib/money';
import { navigate, useLocation } from '../router';

const SORTS = [
  ['NEWEST', 'Newest first'],
  ['OLDEST', 'Oldest first'],
] as const;

export function Catalog() {
  const { query } = useLocation();
  const sort = query.get('sort') === 'OLDEST' ? 'OLDEST' : 'NEWEST';
  const sellerId = query.get('seller');
  const filter = {
    category: query.get('category') || null,
    sellerId,
    minPrice: numberParam(query.get('min')),
    maxPrice: numberParam(query.get('max')),
  };
  return (
    <>
      <PageTitle title="Catalog">Catalog</PageTitle>
      <Filters key={query.toString()} query={query} />
      {sellerId && <SellerChip id={sellerId} query={query} />}
      <ProductList filter={filter} sort={sort} />
    </>
  );
}

function Filters({ query }: { query: URLSearchParams }) {
  const price = (p: string) => {
    const n = numberParam(query.get(p));
    return n === null ? '' : toMajor({ amount: n, currency: CURRENCY });
  };
  const [category, setCategory] = useState(query.get('category') ?? '');
  const [min, setMin] = useState(price('min'));
  const [max, setMax] = useState(price('max'));
  const [sort, setSort] = useState(query.get('sort') ?? 'NEWEST');
  const apply = (e: Event) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (category.trim()) next.set('category', category.trim());
    const minor = (v: string) => toMinor(v, CURRENCY);
    if (minor(min) !== null) next.set('min', String(minor(min)));
    if (minor(max) !== null) next.set('max', String(minor(max)));
    if (sort !== 'NEWEST') next.set('sort', sort);
    if (query.get('seller')) next.set('seller', query.get('seller')!);
    navigate(`/catalog?${next}`);
  };
  return (
    <form class="filters" onSubmit={apply} aria-label="Filter products">
      <Field label="Category" value={category} onValue={setCategory} name="category" />
      <Field label="Min price (€)" value={min} onValue={setMin} inputMode="decimal" name="min" />
      <Field label="Max price (€)" value={max} onValue={setMax} inputMode="decimal" name="max" />
      <Select label="Sort" value={sort} onValue={setSort} options={SORTS} name="sort" />
      <button type="submit">Apply filters</button>
    </form>
  );
}

function SellerChip({ id, query }: { id: string; query: URLSearchParams }) {
  const [{ data }] = useQuery({ query: SellerQuery, variables: { id } });
  const without = new URLSearchParams(query);
  without.delete('seller');
  return (
    <p class="chip">
      Seller: {data?.seller.storeName ?? id}{' '}
      <button type="button" class="link" onClick={() => navigate(`/catalog?${without}`)}>
        Show all sellers
      </button>
    </p>
  );
}

function numberParam(v: string | null): number | null {
  return v !== null && /^\d+$/.test(v) ? Number(v) : null;
}
