use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Order, OrderStatus, Transition};
use crate::{StoreError, address::Address};

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
    pub shipping_address: Address,
}

impl NewOrder {
    /// The body an idempotency key is bound to: the lines in any order, the payment token and
    /// the address. Stores keep it (or its hash) with the key; the same key with another body
    /// is a conflict.
    pub fn canonical_body(&self) -> String {
        let mut lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| format!("{}x{}", l.variant_id, l.quantity))
            .collect();
        lines.sort();
        let address = serde_json::to_string(&self.shipping_address).unwrap_or_default();
        format!("{}|{}|{address}", lines.join(","), self.payment_token)
    }
}

/// What placing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceOutcome {
    Created(Order),
    /// The same buyer and key placed this order before: the same order.
    Existing(Order),
}

/// One page of a buyer's or a seller's orders.
#[derive(Clone, Debug, Default)]
pub struct OrderPage {
    pub items: Vec<(String, Order)>,
    pub has_next_page: bool,
}

/// The purchases store (PostgreSQL in the server).
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates the order in `PENDING` with prices read now, or returns the one this buyer
    /// placed with the same key. The same key with another body is `StoreError::Conflict`; a
    /// variant not for sale is `StoreError::Rejected { what: OrderLine(n) }`, lines priced in
    /// several currencies `Rejected { what: OrderLines }`.
    async fn place(&self, buyer_id: &str, order: NewOrder) -> Result<PlaceOutcome, StoreError>;

    async fn get(&self, id: Uuid) -> Result<Option<Order>, StoreError>;

    /// The buyer's orders, newest first.
    async fn list_for_buyer(
        &self,
        buyer_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError>;

    /// Orders holding at least one line of `seller_id`, newest first, with all their lines
    /// (the resolver shows the seller only theirs).
    async fn list_for_seller(
        &self,
        seller_id: &str,
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
    /// A stream of order ids whose transitions grew. `Uuid::nil()` means some may have been
    /// missed (the notifier reconnected): every follower re-reads its order.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Uuid>;
}

/// What the saga needs to know of one order to take its next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaState {
    pub id: Uuid,
    pub status: OrderStatus,
    pub cancel_requested: bool,
    pub payment_token: String,
    pub total_amount: i64,
    /// Transient payment failures so far.
    pub payment_attempts: i32,
    pub hold_expires_at: DateTime<Utc>,
    /// The W3C `traceparent` of the request that placed the order: every step continues it.
    pub traceparent: Option<String>,
}

/// One line of an order, as the saga holds, releases and commits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaLine {
    pub variant_id: Uuid,
    pub quantity: i32,
    pub sku: String,
}

/// The orders' durable saga state (PostgreSQL in the server). Leases keep two runners off one
/// order; transitions are conditional on the status a step started from.
#[async_trait]
pub trait SagaStore: Send + Sync {
    /// Makes orders whose holds have expired due now; returns how many.
    async fn due_expired(&self) -> Result<u64, StoreError>;

    /// Leases up to `limit` due, non-terminal orders to `owner` for `lease_seconds`.
    async fn claim_due(
        &self,
        owner: Uuid,
        limit: u32,
        lease_seconds: i64,
    ) -> Result<Vec<Uuid>, StoreError>;

    async fn saga_state(&self, id: Uuid) -> Result<Option<SagaState>, StoreError>;

    /// The order's lines, in order.
    async fn lines(&self, id: Uuid) -> Result<Vec<SagaLine>, StoreError>;

    /// Counts a transient payment failure, schedules the next attempt after `delay_ms` and
    /// gives up the lease.
    async fn retry_payment_later(&self, id: Uuid, delay_ms: i64) -> Result<(), StoreError>;

    /// Moves the order from `from` to `to` (recording the transition and its reason) if it is
    /// still in `from`; false when another runner moved it first.
    async fn transition(
        &self,
        id: Uuid,
        from: OrderStatus,
        to: OrderStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;
}

/// Wakes saga runners when an order is placed or its cancellation requested, on any instance.
pub trait SagaWakeups: Send + Sync {
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Uuid>;
}
