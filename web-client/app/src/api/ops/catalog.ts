import { graphql } from '../graphql';

export const ProductCard = graphql(`
  fragment ProductCard on Product {
    id
    name
    category
    imageUrl
    variants { id price { amount currency } available }
    seller { id storeName }
  }
`);

export const ProductDetail = graphql(`
  fragment ProductDetail on Product {
    id
    name
    description
    category
    imageUrl
    version
    sellerId
    seller { id storeName }
    variants { id name price { amount currency } available }
  }
`);

export const RecommendationsQuery = graphql(
  `
  query Recommendations($first: Int!) {
    recommendations(first: $first) { ...ProductCard }
  }
`,
  [ProductCard],
);

export const ProductsQuery = graphql(
  `
  query Products($filter: ProductFilter, $sort: ProductSort!, $first: Int!, $after: String) {
    products(filter: $filter, sort: $sort, first: $first, after: $after) {
      edges { cursor node { ...ProductCard } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [ProductCard],
);

export const ProductQuery = graphql(
  `
  query Product($id: ID!) {
    product(id: $id) { ...ProductDetail }
  }
`,
  [ProductDetail],
);

export const ProductLiveSubscription = graphql(
  `
  subscription ProductLive($id: ID!) {
    productChanged(id: $id) { version gone product { ...ProductDetail } }
  }
`,
  [ProductDetail],
);

export const SellerQuery = graphql(`
  query Seller($id: ID!) {
    seller(id: $id) { id storeName description }
  }
`);

/** One page of search results; the first page also asks for the facets (later pages pass []). */
export const SearchQuery = graphql(
  `
  query Search(
    $query: String!
    $filter: ProductFilter
    $sort: SearchSort!
    $first: Int!
    $after: String
    $facets: [SearchFacet!]!
  ) {
    search(query: $query, filter: $filter, sort: $sort, first: $first, after: $after, facets: $facets) {
      total
      edges { cursor node { ...ProductCard } }
      pageInfo { hasNextPage endCursor }
      facets {
        categories { value count }
        sellers { value count }
        prices { min max count }
      }
    }
  }
`,
  [ProductCard],
);
