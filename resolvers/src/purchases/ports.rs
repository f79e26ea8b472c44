use async_trait::async_trait;
use uuid::Uuid;

use super::{Order, Transition};
use crate::StoreError;

/// A validated line of a new order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrderLine {
    pub variant_id: Uuid,
    pub quantity: i32,
}

/// A validated new order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub lines: Vec<NewOrderLine>,
    pub payment_token: String,
    pub idempotency_key: String,
}

/// What placing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceOutcome {
    Created(Order),
    /// The same buyer and key placed this order before: the same order.
    Existing(Order),
}

/// One page of a buyer's orders.
#[derive(Clone, Debug, Default)]
pub struct OrderPage {
    pub items: Vec<(String, Order)>,
    pub has_next_page: bool,
}

/// The purchases store (PostgreSQL in the server).
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates the order in `PENDING` with prices read now, or returns the one this buyer
    /// placed with the same key. The same key with another body is `StoreError::Conflict`; an
    /// unknown variant is `StoreError::Invalid` naming the line.
    async fn place(&self, buyer_id: &str, order: NewOrder) -> Result<PlaceOutcome, StoreError>;

    async fn get(&self, id: Uuid) -> Result<Option<Order>, StoreError>;

    /// The buyer's orders, newest first.
    async fn list_for_buyer(
        &self,
        buyer_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError>;

    /// Asks the saga to cancel (before `CONFIRMED`); returns the order.
    async fn request_cancel(&self, buyer_id: &str, id: Uuid) -> Result<Order, StoreError>;

    /// Transitions with a sequence number greater than `after_seq`, oldest first.
    async fn transitions_after(
        &self,
        id: Uuid,
        after_seq: i32,
    ) -> Result<Vec<(i32, Transition)>, StoreError>;
}

/// What the payment gateway said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved,
    Declined(String),
}

/// The gateway did not answer; retrying may succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("payment gateway unavailable: {0}")]
pub struct GatewayError(pub String);

/// Takes and refunds payments. Both calls are idempotent per order id.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    async fn charge(
        &self,
        order_id: Uuid,
        token: &str,
        amount: i64,
    ) -> Result<ChargeOutcome, GatewayError>;

    async fn refund(&self, order_id: Uuid) -> Result<(), GatewayError>;
}

/// Tells which orders changed, on whichever server instance the change happened.
pub trait OrderEvents: Send + Sync {
    /// A stream of order ids whose transitions grew.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Uuid>;
}
