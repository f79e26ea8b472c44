import { graphql } from '../graphql';

export const TransitionFields = graphql(`
  fragment TransitionFields on Transition { status reason at }
`);

export const AddressFields = graphql(`
  fragment AddressFields on Address { name line1 line2 city postalCode country }
`);

export const OrderSummary = graphql(`
  fragment OrderSummary on Order {
    id
    status
    reason
    createdAt
    total { amount currency }
    lines { sku quantity }
  }
`);

export const OrderDetail = graphql(
  `
  fragment OrderDetail on Order {
    id
    status
    reason
    createdAt
    total { amount currency }
    lines { productId variantId sku quantity unitPrice { amount currency } }
    shippingAddress { ...AddressFields }
    transitions { ...TransitionFields }
  }
`,
  [TransitionFields, AddressFields],
);

export const MyOrdersQuery = graphql(
  `
  query MyOrders($first: Int!, $after: String) {
    myOrders(first: $first, after: $after) {
      edges { cursor node { ...OrderSummary } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [OrderSummary],
);

/** A seller's view of an order: only their lines, and where to ship them. */
export const SaleSummary = graphql(
  `
  fragment SaleSummary on Order {
    id
    status
    reason
    createdAt
    total { amount currency }
    lines { sku quantity unitPrice { amount currency } }
    shippingAddress { ...AddressFields }
  }
`,
  [AddressFields],
);

export const MySalesQuery = graphql(
  `
  query MySales($first: Int!, $after: String) {
    mySales(first: $first, after: $after) {
      edges { cursor node { ...SaleSummary } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [SaleSummary],
);

export const OrderQuery = graphql(
  `
  query Order($id: ID!) {
    order(id: $id) { ...OrderDetail }
  }
`,
  [OrderDetail],
);

export const PlaceOrderMutation = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) { id status }
  }
`);

export const CancelOrderMutation = graphql(
  `
  mutation CancelOrder($id: ID!) {
    cancelOrder(id: $id) { ...OrderDetail }
  }
`,
  [OrderDetail],
);

export const OrderStatusSubscription = graphql(
  `
  subscription OrderStatus($orderId: ID!) {
    orderStatus(orderId: $orderId) { ...TransitionFields }
  }
`,
  [TransitionFields],
);
