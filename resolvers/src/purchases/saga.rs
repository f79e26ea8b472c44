//! The purchase saga's steps, on ports: advances orders one step at a time. Each step's side
//! effect is idempotent per order (stock holds keyed by order and variant, charges keyed by
//! order) and the status change is conditional on the status it started from, so after a
//! crash any runner can resume any order, and a lease keeps two runners off one order at once.
//!
//! PENDING → hold every line (all or none) → STOCK_HELD → charge → PAID → commit holds →
//! CONFIRMED. Failures: REJECTED (no stock), PAYMENT_FAILED (declined, or the gateway kept
//! failing), CANCELLED (buyer; holds released, payment refunded), EXPIRED (holds expired).
//!
//! `src/workers/saga.asl.json` in the server is the same machine in Amazon States Language,
//! state for step: HoldStock (PENDING), TakePayment (STOCK_HELD), Finalize (PAID), and the
//! Release*/Refund compensations.

use std::sync::Arc;

use futures::StreamExt;
use tracing::Instrument;
use uuid::Uuid;

use super::{ChargeOutcome, OrderStatus, PaymentGateway, SagaState, SagaStore};
use crate::{
    StoreError,
    inventory::{HoldOutcome, StockHolds},
    telemetry,
};

/// Payment attempts before a transiently failing gateway fails the order.
pub const PAYMENT_ATTEMPTS: i32 = 5;
const LEASE_SECONDS: i64 = 30;
const CLAIM_BATCH: u32 = 64;
/// Orders one runner advances at once (each holds a database connection while it steps).
const STEPS_AT_ONCE: usize = 16;

pub struct SagaRunner {
    orders: Arc<dyn SagaStore>,
    holds: Arc<dyn StockHolds>,
    gateway: Arc<dyn PaymentGateway>,
    /// This runner's lease identity.
    owner: Uuid,
}

impl SagaRunner {
    pub fn new(
        orders: Arc<dyn SagaStore>,
        holds: Arc<dyn StockHolds>,
        gateway: Arc<dyn PaymentGateway>,
    ) -> Self {
        Self {
            orders,
            holds,
            gateway,
            owner: Uuid::new_v4(),
        }
    }

    /// Claims the due orders and drives each as far as it can go now: to a terminal status,
    /// or until it waits (a payment retry later). Returns how many moved.
    pub async fn advance_due(&self) -> Result<usize, StoreError> {
        self.orders.due_expired().await?;
        let due = self
            .orders
            .claim_due(self.owner, CLAIM_BATCH, LEASE_SECONDS)
            .await?;
        // Claimed orders are independent (each step is keyed by its order, and stock is locked
        // product then variant everywhere), so they advance side by side.
        let steps = futures::stream::iter(due)
            .map(|id| async move { (id, self.drive(id).await) })
            .buffer_unordered(STEPS_AT_ONCE)
            .collect::<Vec<_>>()
            .await;
        let mut moved = 0;
        for (id, step) in steps {
            match step {
                Ok(Some(_)) => moved += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(order_id = %id, error = %e, "saga step failed; will retry")
                }
            }
        }
        Ok(moved)
    }

    /// Advances `id` step by step while it moves and is not terminal (one claim per order,
    /// not one per step, while the lease is ours); the last status it moved to, if it moved.
    async fn drive(&self, id: Uuid) -> Result<Option<OrderStatus>, StoreError> {
        let mut last = None;
        while let Some(to) = self.advance(id).await? {
            last = Some(to);
            if to.is_terminal() {
                break;
            }
        }
        Ok(last)
    }

    /// One step of one order; returns the status it moved to, if it moved. The step is a span
    /// of the trace that placed the order, and is timed.
    pub async fn advance(&self, id: Uuid) -> Result<Option<OrderStatus>, StoreError> {
        let Some(state) = self.orders.saga_state(id).await? else {
            return Ok(None);
        };
        let from = state.status;
        if from.is_terminal() {
            return Ok(None);
        }
        let span = tracing::info_span!(
            "saga.step",
            otel.name = format!("saga {}", from.as_str()),
            order.id = %id,
            saga.step = from.as_str(),
            saga.outcome = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        telemetry::continue_trace(&span, state.traceparent.as_deref());
        let started = std::time::Instant::now();
        let result = self.step(state).instrument(span.clone()).await;
        let outcome = match &result {
            Ok(Some(to)) => to.as_str(),
            Ok(None) => "waiting",
            Err(_) => "error",
        };
        span.record("saga.outcome", outcome);
        telemetry::metrics().saga_step(from.as_str(), outcome, started.elapsed());
        result
    }

    /// Takes the step `state` calls for.
    async fn step(&self, state: SagaState) -> Result<Option<OrderStatus>, StoreError> {
        let id = state.id;
        let status = state.status;
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
                for line in self.orders.lines(id).await? {
                    self.holds.commit(id, line.variant_id).await?;
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
        for line in self.orders.lines(state.id).await? {
            if self
                .holds
                .hold(
                    state.id,
                    line.variant_id,
                    line.quantity,
                    state.hold_expires_at,
                )
                .await?
                == HoldOutcome::Insufficient
            {
                return Ok(Some(line.sku));
            }
        }
        Ok(None)
    }

    async fn release_all(&self, id: Uuid, reason: &str) -> Result<(), StoreError> {
        for line in self.orders.lines(id).await? {
            self.holds.release(id, line.variant_id, reason).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, Utc};

    use super::*;
    use crate::{
        fakes::{FakeGateway, FakeSagaStore, FakeStock},
        purchases::{ChargeOutcome, GatewayError, OrderStatus::*},
    };

    struct World {
        orders: Arc<FakeSagaStore>,
        stock: Arc<FakeStock>,
        gateway: Arc<FakeGateway>,
        saga: SagaRunner,
    }

    fn world() -> World {
        let (orders, stock, gateway) = (
            Arc::new(FakeSagaStore::default()),
            Arc::new(FakeStock::default()),
            Arc::new(FakeGateway::default()),
        );
        let saga = SagaRunner::new(orders.clone(), stock.clone(), gateway.clone());
        World {
            orders,
            stock,
            gateway,
            saga,
        }
    }

    impl World {
        /// An order of `quantity` of a fresh variant with `on_hand` units.
        fn order(&self, on_hand: i32, quantity: i32) -> (Uuid, Uuid) {
            let variant = self.stock.variant(on_hand);
            let order = self.orders.place(
                "tok",
                1000,
                Utc::now() + Duration::minutes(15),
                &[(variant, quantity, "MUG")],
            );
            (order, variant)
        }

        /// Advances until the order stops moving; returns the statuses it moved to.
        async fn run(&self, id: Uuid) -> Vec<OrderStatus> {
            let mut moved = Vec::new();
            while let Some(to) = self.saga.advance(id).await.unwrap() {
                moved.push(to);
            }
            moved
        }

        fn reason(&self, id: Uuid) -> Option<String> {
            self.orders.history(id).last().unwrap().1.clone()
        }
    }

    fn transient() -> Result<ChargeOutcome, GatewayError> {
        Err(GatewayError("try later".into()))
    }

    #[tokio::test]
    async fn approved_orders_hold_charge_and_sell() {
        let w = world();
        let (id, variant) = w.order(5, 2);
        assert_eq!(w.run(id).await, [StockHeld, Paid, Confirmed]);
        assert_eq!(w.stock.stock(variant), (3, 0));
        assert_eq!(w.gateway.charged(), (1, 1));
        assert_eq!(w.saga.advance(id).await.unwrap(), None, "terminal");
    }

    #[tokio::test]
    async fn without_stock_the_order_is_rejected_and_holds_nothing() {
        let w = world();
        let plenty = w.stock.variant(10);
        let scarce = w.stock.variant(1);
        let id = w.orders.place(
            "tok",
            1000,
            Utc::now() + Duration::minutes(15),
            &[(plenty, 2, "PLENTY"), (scarce, 2, "SCARCE")],
        );
        assert_eq!(w.run(id).await, [Rejected]);
        assert_eq!(w.reason(id).as_deref(), Some("not enough stock for SCARCE"));
        assert_eq!(w.stock.stock(plenty), (10, 0), "all lines or none");
        assert_eq!(w.gateway.charged(), (0, 0));
    }

    #[tokio::test]
    async fn a_declined_payment_releases_the_holds() {
        let w = world();
        w.gateway
            .script([Ok(ChargeOutcome::Declined("card declined".into()))]);
        let (id, variant) = w.order(5, 2);
        assert_eq!(w.run(id).await, [StockHeld, PaymentFailed]);
        assert_eq!(w.reason(id).as_deref(), Some("card declined"));
        assert_eq!(w.stock.stock(variant), (5, 0));
    }

    #[tokio::test]
    async fn transient_gateway_failures_are_retried_then_succeed() {
        let w = world();
        w.gateway.script([transient(), transient()]);
        let (id, variant) = w.order(5, 1);
        assert_eq!(w.saga.advance(id).await.unwrap(), Some(StockHeld));
        for attempt in 1..=2 {
            assert_eq!(w.saga.advance(id).await.unwrap(), None, "retry scheduled");
            assert_eq!(w.orders.payment_attempts(id), attempt);
        }
        assert_eq!(w.run(id).await, [Paid, Confirmed]);
        assert_eq!(w.stock.stock(variant), (4, 0));
    }

    #[tokio::test]
    async fn a_gateway_that_keeps_failing_fails_the_order_and_releases_the_holds() {
        let w = world();
        w.gateway
            .script(std::iter::repeat_with(transient).take(PAYMENT_ATTEMPTS as usize));
        let (id, variant) = w.order(5, 1);
        assert_eq!(w.saga.advance(id).await.unwrap(), Some(StockHeld));
        for _ in 1..PAYMENT_ATTEMPTS {
            assert_eq!(w.saga.advance(id).await.unwrap(), None);
        }
        assert_eq!(w.saga.advance(id).await.unwrap(), Some(PaymentFailed));
        assert_eq!(w.stock.stock(variant), (5, 0));
    }

    #[tokio::test]
    async fn cancelling_at_each_step_compensates_what_was_done() {
        // Before anything was held.
        let w = world();
        let (id, variant) = w.order(5, 2);
        w.orders.request_cancel(id);
        assert_eq!(w.run(id).await, [Cancelled]);
        assert_eq!(w.stock.stock(variant), (5, 0));
        // With stock held.
        let (id, variant) = w.order(5, 2);
        w.saga.advance(id).await.unwrap();
        assert_eq!(w.stock.stock(variant), (5, 2));
        w.orders.request_cancel(id);
        assert_eq!(w.run(id).await, [Cancelled]);
        assert_eq!(w.stock.stock(variant), (5, 0));
        assert!(w.gateway.refunded().is_empty());
        // Paid: refunded and released.
        let (id, variant) = w.order(5, 2);
        w.saga.advance(id).await.unwrap();
        w.saga.advance(id).await.unwrap();
        assert_eq!(w.orders.status(id), Some(Paid));
        w.orders.request_cancel(id);
        assert_eq!(w.run(id).await, [Cancelled]);
        assert_eq!(
            w.reason(id).as_deref(),
            Some("cancelled by the buyer; payment refunded")
        );
        assert_eq!(w.gateway.refunded(), [id]);
        assert_eq!(w.stock.stock(variant), (5, 0));
        // Confirmed: too late, nothing changes.
        let (id, variant) = w.order(5, 2);
        w.run(id).await;
        w.orders.request_cancel(id);
        assert_eq!(w.run(id).await, []);
        assert_eq!(w.stock.stock(variant), (3, 0));
    }

    #[tokio::test]
    async fn expired_holds_expire_the_order() {
        let w = world();
        let (id, variant) = w.order(5, 2);
        w.saga.advance(id).await.unwrap();
        w.orders
            .set_hold_expiry(id, Utc::now() - Duration::seconds(1));
        assert_eq!(w.run(id).await, [Expired]);
        assert_eq!(w.stock.stock(variant), (5, 0));
        assert_eq!(w.gateway.charged(), (0, 0), "never charged");
    }

    /// A crash between a step's side effect and its status change: the next runner repeats
    /// the step, and the side effect happens once.
    #[tokio::test]
    async fn a_crash_between_side_effect_and_status_repeats_nothing() {
        let w = world();
        let (id, variant) = w.order(5, 2);
        let expires = Utc::now() + Duration::minutes(15);
        // Held, then crashed before STOCK_HELD was recorded.
        w.stock.hold(id, variant, 2, expires).await.unwrap();
        assert_eq!(w.saga.advance(id).await.unwrap(), Some(StockHeld));
        assert_eq!(w.stock.stock(variant), (5, 2), "held once");
        // Charged, then crashed before PAID.
        w.gateway.charge(id, "tok", 1000).await.unwrap();
        assert_eq!(w.saga.advance(id).await.unwrap(), Some(Paid));
        assert_eq!(w.gateway.charged().0, 1, "charged once");
        // Committed, then crashed before CONFIRMED.
        w.stock.commit(id, variant).await.unwrap();
        assert_eq!(w.saga.advance(id).await.unwrap(), Some(Confirmed));
        assert_eq!(w.stock.stock(variant), (3, 0), "sold once");
    }

    #[tokio::test]
    async fn a_step_another_runner_already_took_moves_nothing() {
        let w = world();
        let (id, _) = w.order(5, 1);
        // Another runner moved the order on between this runner's read and its write.
        w.orders
            .transition(id, Pending, Cancelled, Some("elsewhere"))
            .await
            .unwrap();
        let state = w.orders.saga_state(id).await.unwrap().unwrap();
        assert_eq!(state.status, Cancelled);
        let moved = w.orders.transition(id, Pending, StockHeld, None).await;
        assert!(
            !moved.unwrap(),
            "a conditional transition from a stale status moves nothing"
        );
        assert_eq!(w.run(id).await, []);
    }

    #[tokio::test]
    async fn advance_due_drives_every_claimed_order_as_far_as_it_goes() {
        let w = world();
        let orders: Vec<Uuid> = (0..3).map(|_| w.order(5, 1).0).collect();
        assert_eq!(w.saga.advance_due().await.unwrap(), 3);
        for id in orders {
            assert_eq!(w.orders.status(id), Some(Confirmed));
        }
        assert_eq!(w.saga.advance_due().await.unwrap(), 0, "nothing left to do");
    }
}
