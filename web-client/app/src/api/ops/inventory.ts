import { graphql } from '../graphql';

export const SellerProduct = graphql(`
  fragment SellerProduct on Product {
    id
    name
    description
    category
    status
    imageUrl
    version
    consistencyToken
    variants { id sku name price { amount currency } onHand held available }
  }
`);

export const MyProductsQuery = graphql(
  `
  query MyProducts($first: Int!, $after: String, $consistency: [String!]) {
    myProducts(first: $first, after: $after, consistency: $consistency) {
      edges { cursor node { ...SellerProduct } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [SellerProduct],
);

/**
 * One own product in any status, as the catalog holds it; null when it is not there (yet), deleted
 * or another seller's. The editor's read, with the consistency token of this tab's last write.
 */
export const MyProductQuery = graphql(
  `
  query MyProduct($id: ID!, $consistency: [String!]) {
    myProduct(id: $id, consistency: $consistency) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

/** The seller's own product in any status, live: keeps the editor current (images, other tabs). */
export const MyProductLiveSubscription = graphql(
  `
  subscription MyProductLive($id: ID!) {
    productChanged(id: $id) { version gone product { ...SellerProduct } }
  }
`,
  [SellerProduct],
);

export const CreateProductMutation = graphql(
  `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const UpdateProductMutation = graphql(
  `
  mutation UpdateProduct($id: ID!, $expectedVersion: Int!, $input: UpdateProductInput!) {
    updateProduct(id: $id, expectedVersion: $expectedVersion, input: $input) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const DeleteProductMutation = graphql(
  `
  mutation DeleteProduct($id: ID!, $expectedVersion: Int) {
    deleteProduct(id: $id, expectedVersion: $expectedVersion) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const PublishProductMutation = graphql(
  `
  mutation PublishProduct($id: ID!) {
    publishProduct(id: $id) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const UnpublishProductMutation = graphql(
  `
  mutation UnpublishProduct($id: ID!, $archive: Boolean!) {
    unpublishProduct(id: $id, archive: $archive) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const AddVariantMutation = graphql(
  `
  mutation AddVariant($productId: ID!, $input: VariantInput!) {
    addVariant(productId: $productId, input: $input) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const UpdateVariantMutation = graphql(
  `
  mutation UpdateVariant($id: ID!, $input: UpdateVariantInput!) {
    updateVariant(id: $id, input: $input) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const RemoveVariantMutation = graphql(
  `
  mutation RemoveVariant($id: ID!) {
    removeVariant(id: $id) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const SetStockMutation = graphql(
  `
  mutation SetStock($variantId: ID!, $onHand: Int!, $reason: String!) {
    setStock(variantId: $variantId, onHand: $onHand, reason: $reason) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const AdjustStockMutation = graphql(
  `
  mutation AdjustStock($variantId: ID!, $delta: Int!, $reason: String!) {
    adjustStock(variantId: $variantId, delta: $delta, reason: $reason) { ...SellerProduct }
  }
`,
  [SellerProduct],
);

export const RequestImageUploadMutation = graphql(`
  mutation RequestImageUpload($productId: ID!, $contentType: String!, $contentLength: Int!) {
    requestProductImageUpload(
      productId: $productId
      contentType: $contentType
      contentLength: $contentLength
    ) {
      url
      method
      headers { name value }
    }
  }
`);
