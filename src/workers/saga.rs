//! The purchase saga runner: advances orders one step at a time. Each step's side effect is
//! idempotent per order (stock holds keyed by order and variant, charges keyed by order) and
//! the status change is conditional on the status it started from, so after a crash any
//! instance can resume any order, and a lease keeps two instances off one order at once.
//!
//! PENDING → hold every line (all or none) → STOCK_HELD → charge → PAID → commit holds →
//! CONFIRMED. Failures: REJECTED (no stock), PAYMENT_FAILED (declined, or the gateway kept
//! failing), CANCELLED (buyer; holds released, payment refunded), EXPIRED (holds expired).
//!
//! `saga.asl.json` beside this file is the same machine in Amazon States Language, state for
//! step: HoldStock (PENDING), TakePayment (STOCK_HELD), Finalize (PAID), and the Release*/Refund
//! compensations, for running the saga on AWS Step Functions instead of this runner.

use std::{sync::Arc, time::Duration};

use mercado_resolvers::{
    StoreError,
    inventory::{HoldOutcome, StockHolds},
    purchases::{ChargeOutcome, OrderStatus, PaymentGateway},
};
use sqlx::{PgPool, postgres::PgListener};
use uuid::Uuid;

use super::{Shutdown, stopped};
use crate::postgres::{PgInventory, PgOrders, SagaState, orders::SAGA_CHANNEL};

/// Payment attempts before a transiently failing gateway fails the order.
pub const PAYMENT_ATTEMPTS: i32 = 5;
const LEASE_SECONDS: i64 = 30;
const CLAIM_BATCH: u32 = 32;

pub struct SagaRunner {
    orders: Arc<PgOrders>,
    holds: Arc<PgInventory>,
    gateway: Arc<dyn PaymentGateway>,
    /// This runner's lease identity.
    owner: Uuid,
}

impl SagaRunner {
    pub fn new(
        orders: Arc<PgOrders>,
        holds: Arc<PgInventory>,
        gateway: Arc<dyn PaymentGateway>,
    ) -> Self {
        Self {
            orders,
            holds,
            gateway,
            owner: Uuid::new_v4(),
        }
    }

    /// Claims the due orders and advances each by one step. Returns how many moved.
    pub async fn advance_due(&self) -> Result<usize, StoreError> {
        self.orders.due_expired().await?;
        let due = self
            .orders
            .claim_due(self.owner, CLAIM_BATCH, LEASE_SECONDS)
            .await?;
        let mut moved = 0;
        for id in due {
            match self.advance(id).await {
                Ok(Some(_)) => moved += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(order_id = %id, error = %e, "saga step failed; will retry")
                }
            }
        }
        Ok(moved)
    }

    /// One step of one order; returns the status it moved to, if it moved.
    pub async fn advance(&self, id: Uuid) -> Result<Option<OrderStatus>, StoreError> {
        let Some(state) = self.orders.saga_state(id).await? else {
            return Ok(None);
        };
        let status = OrderStatus::parse(&state.status).unwrap_or(OrderStatus::Pending);
        let expired = chrono::Utc::now() > state.hold_expires_at;
        let (to, reason): (OrderStatus, Option<String>) = match status {
            OrderStatus::Pending | OrderStatus::StockHeld if state.cancel_requested => {
                self.release_all(id, "order cancelled").await?;
                (
                    OrderStatus::Cancelled,
                    Some("cancelled by the buyer".into()),
                )
            }
            OrderStatus::Pending | OrderStatus::StockHeld if expired => {
                self.release_all(id, "order expired").await?;
                (
                    OrderStatus::Expired,
                    Some("stock holds expired before payment".into()),
                )
            }
            OrderStatus::Pending => match self.hold_all(&state).await? {
                None => (OrderStatus::StockHeld, None),
                Some(sku) => {
                    self.release_all(id, "order rejected").await?;
                    (
                        OrderStatus::Rejected,
                        Some(format!("not enough stock for {sku}")),
                    )
                }
            },
            OrderStatus::StockHeld => {
                match self
                    .gateway
                    .charge(id, &state.payment_token, state.total_amount)
                    .await
                {
                    Ok(ChargeOutcome::Approved) => (OrderStatus::Paid, None),
                    Ok(ChargeOutcome::Declined(why)) => {
                        self.release_all(id, "payment failed").await?;
                        (OrderStatus::PaymentFailed, Some(why))
                    }
                    Err(e) if state.payment_attempts + 1 < PAYMENT_ATTEMPTS => {
                        let delay = 100_i64 << state.payment_attempts.clamp(0, 6);
                        tracing::info!(order_id = %id, error = %e, delay_ms = delay, "payment retry scheduled");
                        self.orders.retry_payment_later(id, delay).await?;
                        return Ok(None);
                    }
                    Err(e) => {
                        self.release_all(id, "payment failed").await?;
                        (OrderStatus::PaymentFailed, Some(e.to_string()))
                    }
                }
            }
            OrderStatus::Paid if state.cancel_requested => {
                self.gateway
                    .refund(id)
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                self.release_all(id, "order cancelled").await?;
                (
                    OrderStatus::Cancelled,
                    Some("cancelled by the buyer; payment refunded".into()),
                )
            }
            OrderStatus::Paid => {
                for (variant, _, _) in self.orders.lines(id).await? {
                    self.holds.commit(id, variant).await?;
                }
                (OrderStatus::Confirmed, None)
            }
            _ => return Ok(None),
        };
        let moved = self
            .orders
            .transition(id, status, to, reason.as_deref())
            .await?;
        Ok(moved.then_some(to))
    }

    /// Holds every line, or none: returns the SKU that lacked stock.
    async fn hold_all(&self, state: &SagaState) -> Result<Option<String>, StoreError> {
        for (variant, quantity, sku) in self.orders.lines(state.id).await? {
            if self
                .holds
                .hold(state.id, variant, quantity, state.hold_expires_at)
                .await?
                == HoldOutcome::Insufficient
            {
                return Ok(Some(sku));
            }
        }
        Ok(None)
    }

    async fn release_all(&self, id: Uuid, reason: &str) -> Result<(), StoreError> {
        for (variant, _, _) in self.orders.lines(id).await? {
            self.holds.release(id, variant, reason).await?;
        }
        Ok(())
    }
}

/// Advances orders until shutdown: woken by NOTIFY when orders are placed or change, polling
/// every `poll` anyway (retries and expiries are time-based).
pub async fn run(pool: PgPool, runner: Arc<SagaRunner>, poll: Duration, mut shutdown: Shutdown) {
    let mut listener = match PgListener::connect_with(&pool).await {
        Ok(mut l) => l.listen(SAGA_CHANNEL).await.ok().map(|()| l),
        Err(_) => None,
    };
    loop {
        loop {
            match runner.advance_due().await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "saga runner step failed");
                    break;
                }
            }
        }
        let notified = async {
            match listener.as_mut() {
                Some(l) => {
                    if l.recv().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = notified => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}
