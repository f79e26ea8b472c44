//! The purchase saga's steps, on ports: advances orders one step at a time. Each step's side
//! effect is idempotent per order (stock holds keyed by order and variant, charges keyed by
//! order) and the status change is conditional on the status it started from, so after a
//! crash any runner can resume any order, and a lease keeps two runners off one order at once.
//!
//! PENDING → hold every line (all or none) → STOCK_HELD → charge → PAID → commit holds →
//! CONFIRMED. Failures: REJECTED (no stock), PAYMENT_FAILED (declined, or the gateway kept
//! failing), CANCELLED (buyer; holds released, payment refunded), EXPIRED (holds expired).
//!
//! The steps are [`SagaStep`]s, one code path for two engines: the runner here drives an
//! order by its status (a step, then the compensation it asks for), and a Step Functions
//! execution (`src/workers/saga.asl.json` in the server) asks for each step and compensation
//! as a task, answered by [`SagaRunner::run_step`].

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

/// A step of the saga as an engine asks for it: the three forward steps, each acting only on
/// an order in the status it expects, and the compensation that ends an order that cannot go
/// on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaStep {
    /// PENDING → STOCK_HELD: hold every line, or none.
    Hold,
    /// STOCK_HELD → PAID: charge the payment.
    Pay,
    /// PAID → CONFIRMED: every hold becomes a sale.
    Finalize,
    /// Any unfinished status → a failed one.
    Compensate(Compensation),
}

/// Ends an order that cannot go on: refunds first when asked (and the order is PAID),
/// releases every hold, and records `to` with `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    pub to: OrderStatus,
    pub reason: String,
    pub refund: bool,
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The order moved to this status.
    Moved(OrderStatus),
    /// The order cannot go on: this compensation is due.
    Compensate(Compensation),
    /// The payment gateway failed transiently; the engine retries.
    GatewayUnavailable(String),
    /// The order is not in a status the step acts on (a duplicate or late request, or another
    /// runner moved it): nothing changed. Its status now.
    Unchanged(OrderStatus),
}

impl SagaStep {
    /// The forward step an order in `status` calls for; `None` once it is terminal.
    pub fn for_status(status: OrderStatus) -> Option<Self> {
        match status {
            OrderStatus::Pending => Some(Self::Hold),
            OrderStatus::StockHeld => Some(Self::Pay),
            OrderStatus::Paid => Some(Self::Finalize),
            _ => None,
        }
    }

    /// The step's name in spans, metrics and Step Functions messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hold => "hold",
            Self::Pay => "pay",
            Self::Finalize => "finalize",
            Self::Compensate(_) => "compensate",
        }
    }

    fn acts_on(&self, status: OrderStatus) -> bool {
        match self {
            Self::Compensate(_) => !status.is_terminal(),
            forward => Self::for_status(status).as_ref() == Some(forward),
        }
    }
}

/// Runs `work` in a span of the trace that placed the order (`saga <status>`, with the step),
/// and times it by the status it started from and `outcome` of its result.
async fn traced<T>(
    state: &SagaState,
    step: &str,
    work: impl std::future::Future<Output = Result<T, StoreError>>,
    outcome: impl Fn(&Result<T, StoreError>) -> &'static str,
) -> Result<T, StoreError> {
    let span = tracing::info_span!(
        "saga.step",
        otel.name = format!("saga {}", state.status.as_str()),
        order.id = %state.id,
        saga.step = step,
        saga.outcome = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    telemetry::continue_trace(&span, state.traceparent.as_deref());
    let started = std::time::Instant::now();
    let result = work.instrument(span.clone()).await;
    let outcome = outcome(&result);
    span.record("saga.outcome", outcome);
    telemetry::metrics().saga_step(state.status.as_str(), outcome, started.elapsed());
    result
}

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
        let Some(step) = SagaStep::for_status(state.status) else {
            return Ok(None);
        };
        traced(&state, step.name(), self.step(&state, step), |r| match r {
            Ok(Some(to)) => to.as_str(),
            Ok(None) => "waiting",
            Err(_) => "error",
        })
        .await
    }

    /// Runs `step` on order `id` as another engine asks for it (a Step Functions task): the
    /// same code the runner's own steps run, acting only if the order is in a status the step
    /// acts on, so a duplicate or late request changes nothing (`Unchanged`).
    pub async fn run_step(&self, id: Uuid, step: SagaStep) -> Result<StepOutcome, StoreError> {
        let Some(state) = self.orders.saga_state(id).await? else {
            return Err(StoreError::NotFound);
        };
        traced(&state, step.name(), self.act(&state, &step), |r| match r {
            Ok(StepOutcome::Moved(to)) => to.as_str(),
            Ok(StepOutcome::Compensate(_)) => "compensate",
            Ok(StepOutcome::GatewayUnavailable(_)) => "waiting",
            Ok(StepOutcome::Unchanged(_)) => "unchanged",
            Err(_) => "error",
        })
        .await
    }

    /// The runner's step for `state`: the step its status calls for, then the compensation it
    /// asks for, if any; a transiently failing gateway is retried later with backoff, up to
    /// [`PAYMENT_ATTEMPTS`].
    async fn step(
        &self,
        state: &SagaState,
        step: SagaStep,
    ) -> Result<Option<OrderStatus>, StoreError> {
        let outcome = match self.act(state, &step).await? {
            StepOutcome::GatewayUnavailable(e) if state.payment_attempts + 1 < PAYMENT_ATTEMPTS => {
                let delay = 100_i64 << state.payment_attempts.clamp(0, 6);
                tracing::info!(order_id = %state.id, error = %e, delay_ms = delay, "payment retry scheduled");
                self.orders.retry_payment_later(state.id, delay).await?;
                return Ok(None);
            }
            StepOutcome::GatewayUnavailable(e) => StepOutcome::Compensate(Compensation {
                to: OrderStatus::PaymentFailed,
                reason: e,
                refund: false,
            }),
            other => other,
        };
        let outcome = match outcome {
            StepOutcome::Compensate(c) => self.act(state, &SagaStep::Compensate(c)).await?,
            other => other,
        };
        Ok(match outcome {
            StepOutcome::Moved(to) => Some(to),
            _ => None,
        })
    }

    /// Takes `step` on the order `state` describes.
    async fn act(&self, state: &SagaState, step: &SagaStep) -> Result<StepOutcome, StoreError> {
        if !step.acts_on(state.status) {
            return Ok(StepOutcome::Unchanged(state.status));
        }
        let id = state.id;
        let expired = chrono::Utc::now() > state.hold_expires_at;
        let compensate = |to: OrderStatus, reason: String, refund: bool| {
            Ok(StepOutcome::Compensate(Compensation { to, reason, refund }))
        };
        match step {
            SagaStep::Hold | SagaStep::Pay if state.cancel_requested => compensate(
                OrderStatus::Cancelled,
                "cancelled by the buyer".into(),
                false,
            ),
            SagaStep::Hold | SagaStep::Pay if expired => compensate(
                OrderStatus::Expired,
                "stock holds expired before payment".into(),
                false,
            ),
            SagaStep::Hold => match self.hold_all(state).await? {
                None => self.moved(state, OrderStatus::StockHeld, None).await,
                Some(sku) => compensate(
                    OrderStatus::Rejected,
                    format!("not enough stock for {sku}"),
                    false,
                ),
            },
            SagaStep::Pay => match self
                .gateway
                .charge(id, &state.payment_token, state.total_amount)
                .await
            {
                Ok(ChargeOutcome::Approved) => self.moved(state, OrderStatus::Paid, None).await,
                Ok(ChargeOutcome::Declined(why)) => {
                    compensate(OrderStatus::PaymentFailed, why, false)
                }
                Err(e) => Ok(StepOutcome::GatewayUnavailable(e.to_string())),
            },
            SagaStep::Finalize if state.cancel_requested => compensate(
                OrderStatus::Cancelled,
                "cancelled by the buyer; payment refunded".into(),
                true,
            ),
            SagaStep::Finalize => {
                for line in self.orders.lines(id).await? {
                    self.holds.commit(id, line.variant_id).await?;
                }
                self.moved(state, OrderStatus::Confirmed, None).await
            }
            SagaStep::Compensate(c) => {
                if c.refund && state.status == OrderStatus::Paid {
                    self.gateway
                        .refund(id)
                        .await
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                }
                let why = match c.to {
                    OrderStatus::Rejected => "order rejected",
                    OrderStatus::PaymentFailed => "payment failed",
                    OrderStatus::Expired => "order expired",
                    _ => "order cancelled",
                };
                self.release_all(id, why).await?;
                self.moved(state, c.to, Some(&c.reason)).await
            }
        }
    }

    /// Records `to` if the order is still where `state` found it; otherwise reports where it
    /// is now (another runner, or the other engine, moved it first).
    async fn moved(
        &self,
        state: &SagaState,
        to: OrderStatus,
        reason: Option<&str>,
    ) -> Result<StepOutcome, StoreError> {
        if self
            .orders
            .transition(state.id, state.status, to, reason)
            .await?
        {
            return Ok(StepOutcome::Moved(to));
        }
        let now = self.orders.saga_state(state.id).await?;
        Ok(StepOutcome::Unchanged(
            now.map_or(state.status, |s| s.status),
        ))
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
    async fn steps_asked_for_by_another_engine_act_once_and_repeats_change_nothing() {
        let w = world();
        let (id, variant) = w.order(5, 2);
        let s = &w.saga;
        assert_eq!(
            s.run_step(id, SagaStep::Hold).await.unwrap(),
            StepOutcome::Moved(StockHeld)
        );
        // A duplicate delivery of the same step, and one that arrives too early.
        assert_eq!(
            s.run_step(id, SagaStep::Hold).await.unwrap(),
            StepOutcome::Unchanged(StockHeld)
        );
        assert_eq!(
            s.run_step(id, SagaStep::Finalize).await.unwrap(),
            StepOutcome::Unchanged(StockHeld)
        );
        assert_eq!(w.stock.stock(variant), (5, 2), "held once");
        assert_eq!(
            s.run_step(id, SagaStep::Pay).await.unwrap(),
            StepOutcome::Moved(Paid)
        );
        assert_eq!(
            s.run_step(id, SagaStep::Pay).await.unwrap(),
            StepOutcome::Unchanged(Paid)
        );
        assert_eq!(w.gateway.charged(), (1, 1), "charged once");
        assert_eq!(
            s.run_step(id, SagaStep::Finalize).await.unwrap(),
            StepOutcome::Moved(Confirmed)
        );
        let late = SagaStep::Compensate(Compensation {
            to: Cancelled,
            reason: "late".into(),
            refund: true,
        });
        assert_eq!(
            s.run_step(id, late).await.unwrap(),
            StepOutcome::Unchanged(Confirmed)
        );
        assert_eq!(w.stock.stock(variant), (3, 0));
        assert!(w.gateway.refunded().is_empty());
    }

    #[tokio::test]
    async fn a_step_that_cannot_go_on_asks_for_its_compensation_and_the_gateway_failure_is_the_engines_to_retry()
     {
        let w = world();
        let (id, variant) = w.order(1, 2);
        let rejected = w.saga.run_step(id, SagaStep::Hold).await.unwrap();
        let StepOutcome::Compensate(c) = rejected.clone() else {
            panic!("{rejected:?}")
        };
        assert_eq!((c.to, c.refund), (Rejected, false));
        assert_eq!(
            w.orders.status(id),
            Some(Pending),
            "a compensation is its own step"
        );
        assert_eq!(
            w.saga
                .run_step(id, SagaStep::Compensate(c.clone()))
                .await
                .unwrap(),
            StepOutcome::Moved(Rejected)
        );
        assert_eq!(
            w.saga.run_step(id, SagaStep::Compensate(c)).await.unwrap(),
            StepOutcome::Unchanged(Rejected)
        );
        assert_eq!(w.stock.stock(variant), (1, 0));

        w.gateway.script([transient()]);
        let (id, _) = w.order(5, 1);
        w.saga.run_step(id, SagaStep::Hold).await.unwrap();
        assert!(matches!(
            w.saga.run_step(id, SagaStep::Pay).await.unwrap(),
            StepOutcome::GatewayUnavailable(_)
        ));
        assert_eq!(
            w.orders.payment_attempts(id),
            0,
            "no runner retry is scheduled for another engine"
        );
        assert_eq!(
            w.saga.run_step(id, SagaStep::Pay).await.unwrap(),
            StepOutcome::Moved(Paid)
        );
        // Cancelled once paid: finalize asks for a refund with the release.
        w.orders.request_cancel(id);
        let StepOutcome::Compensate(c) = w.saga.run_step(id, SagaStep::Finalize).await.unwrap()
        else {
            panic!()
        };
        assert!(c.refund);
        assert_eq!(
            w.saga.run_step(id, SagaStep::Compensate(c)).await.unwrap(),
            StepOutcome::Moved(Cancelled)
        );
        assert_eq!(w.gateway.refunded(), [id]);
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
