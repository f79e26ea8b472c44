//! Purchases: orders placed by buyers and advanced by a durable saga (hold stock → take
//! payment → finalize, compensating on decline, cancellation or expiry). This context holds
//! the order model, the ports, the saga's steps (`saga`, on ports; the server's worker loop
//! drives them) and the GraphQL surface, including the live `orderStatus` subscription.

mod feed;
mod model;
mod ports;
mod resolvers;
pub mod saga;

pub use feed::{OrderFeed, Transitions};
pub use model::{Order, OrderLine, OrderStatus, Transition};
pub use ports::{
    ChargeOutcome, GatewayError, NewOrder, NewOrderLine, OrderEvents, OrderPage, OrderStore,
    PaymentGateway, PlaceOutcome, SagaLine, SagaState, SagaStore, SagaWakeups,
};
pub use resolvers::{
    OrderLineInput, PlaceOrderInput, PurchasesMutation, PurchasesQuery, PurchasesSubscription,
};
