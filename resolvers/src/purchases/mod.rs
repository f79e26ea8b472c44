//! Purchases: orders placed by buyers and advanced by a durable saga (hold stock → take
//! payment → finalize, compensating on decline, cancellation or expiry). The saga itself runs in
//! the server (`src/workers/saga.rs`); this context holds the order model, the ports and the
//! GraphQL surface, including the live `orderStatus` subscription.

mod model;
mod ports;
mod resolvers;

pub use model::{Order, OrderLine, OrderStatus, Transition};
pub use ports::{
    ChargeOutcome, GatewayError, NewOrder, NewOrderLine, OrderEvents, OrderPage, OrderStore,
    PaymentGateway, PlaceOutcome,
};
pub use resolvers::{
    OrderLineInput, PlaceOrderInput, PurchasesMutation, PurchasesQuery, PurchasesSubscription,
};
