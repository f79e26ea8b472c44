//! Fakes of the purchase saga's ports: orders' saga state, stock holds, a payment gateway.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    StoreError,
    inventory::{HoldOutcome, StockHolds},
    purchases::{
        ChargeOutcome, GatewayError, OrderStatus, PaymentGateway, SagaLine, SagaState, SagaStore,
    },
};

fn poisoned() -> StoreError {
    StoreError::Internal("fake lock poisoned".into())
}

struct FakeOrder {
    state: SagaState,
    lines: Vec<SagaLine>,
    /// Every transition recorded, with its reason.
    history: Vec<(OrderStatus, Option<String>)>,
    lease: Option<Uuid>,
}

/// Orders' saga state in memory. Transitions are conditional on the current status, as in
/// PostgreSQL.
#[derive(Default)]
pub struct FakeSagaStore {
    orders: Mutex<HashMap<Uuid, FakeOrder>>,
}

impl FakeSagaStore {
    /// Adds a PENDING order of `lines` (variant, quantity, sku) paid with `token`.
    pub fn place(
        &self,
        token: &str,
        total_amount: i64,
        hold_expires_at: DateTime<Utc>,
        lines: &[(Uuid, i32, &str)],
    ) -> Uuid {
        let id = Uuid::new_v4();
        let order = FakeOrder {
            state: SagaState {
                id,
                status: OrderStatus::Pending,
                cancel_requested: false,
                payment_token: token.into(),
                total_amount,
                payment_attempts: 0,
                hold_expires_at,
                traceparent: crate::telemetry::current_traceparent(),
            },
            lines: lines
                .iter()
                .map(|(variant_id, quantity, sku)| SagaLine {
                    variant_id: *variant_id,
                    quantity: *quantity,
                    sku: (*sku).into(),
                })
                .collect(),
            history: vec![(OrderStatus::Pending, None)],
            lease: None,
        };
        if let Ok(mut orders) = self.orders.lock() {
            orders.insert(id, order);
        }
        id
    }

    /// The buyer asks to cancel (the saga acts on it at its next step).
    pub fn request_cancel(&self, id: Uuid) {
        if let Ok(mut orders) = self.orders.lock()
            && let Some(order) = orders.get_mut(&id)
        {
            order.state.cancel_requested = true;
        }
    }

    /// Moves the hold expiry (to the past, to expire an order).
    pub fn set_hold_expiry(&self, id: Uuid, at: DateTime<Utc>) {
        if let Ok(mut orders) = self.orders.lock()
            && let Some(order) = orders.get_mut(&id)
        {
            order.state.hold_expires_at = at;
        }
    }

    pub fn status(&self, id: Uuid) -> Option<OrderStatus> {
        self.orders.lock().ok()?.get(&id).map(|o| o.state.status)
    }

    /// Every status the order went through, with reasons.
    pub fn history(&self, id: Uuid) -> Vec<(OrderStatus, Option<String>)> {
        self.orders
            .lock()
            .ok()
            .and_then(|o| o.get(&id).map(|o| o.history.clone()))
            .unwrap_or_default()
    }

    pub fn payment_attempts(&self, id: Uuid) -> i32 {
        self.orders
            .lock()
            .ok()
            .and_then(|o| o.get(&id).map(|o| o.state.payment_attempts))
            .unwrap_or_default()
    }
}

#[async_trait]
impl SagaStore for FakeSagaStore {
    async fn due_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn claim_due(
        &self,
        owner: Uuid,
        limit: u32,
        _lease_seconds: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut orders = self.orders.lock().map_err(|_| poisoned())?;
        let mut claimed = Vec::new();
        for (id, order) in orders.iter_mut() {
            if claimed.len() >= limit as usize {
                break;
            }
            if !order.state.status.is_terminal() && order.lease.is_none_or(|o| o == owner) {
                order.lease = Some(owner);
                claimed.push(*id);
            }
        }
        Ok(claimed)
    }

    async fn saga_state(&self, id: Uuid) -> Result<Option<SagaState>, StoreError> {
        Ok(self
            .orders
            .lock()
            .map_err(|_| poisoned())?
            .get(&id)
            .map(|o| o.state.clone()))
    }

    async fn lines(&self, id: Uuid) -> Result<Vec<SagaLine>, StoreError> {
        Ok(self
            .orders
            .lock()
            .map_err(|_| poisoned())?
            .get(&id)
            .map(|o| o.lines.clone())
            .unwrap_or_default())
    }

    async fn retry_payment_later(&self, id: Uuid, _delay_ms: i64) -> Result<(), StoreError> {
        let mut orders = self.orders.lock().map_err(|_| poisoned())?;
        if let Some(order) = orders.get_mut(&id) {
            order.state.payment_attempts += 1;
            order.lease = None;
        }
        Ok(())
    }

    async fn transition(
        &self,
        id: Uuid,
        from: OrderStatus,
        to: OrderStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut orders = self.orders.lock().map_err(|_| poisoned())?;
        let Some(order) = orders.get_mut(&id).filter(|o| o.state.status == from) else {
            return Ok(false);
        };
        order.state.status = to;
        order.lease = None;
        order.history.push((to, reason.map(str::to_string)));
        Ok(true)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HoldState {
    Active,
    Released,
    Committed,
}

/// Stock per variant (`on_hand`, `held`) and holds keyed by (order, variant), idempotent as
/// the port requires.
#[derive(Default)]
pub struct FakeStock {
    inner: Mutex<StockInner>,
}

#[derive(Default)]
struct StockInner {
    variants: HashMap<Uuid, (i32, i32)>,
    holds: HashMap<(Uuid, Uuid), (i32, HoldState)>,
}

impl FakeStock {
    /// A variant with `on_hand` units, none held.
    pub fn variant(&self, on_hand: i32) -> Uuid {
        let id = Uuid::new_v4();
        if let Ok(mut inner) = self.inner.lock() {
            inner.variants.insert(id, (on_hand, 0));
        }
        id
    }

    /// (on hand, held) of a variant.
    pub fn stock(&self, variant: Uuid) -> (i32, i32) {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.variants.get(&variant).copied())
            .unwrap_or_default()
    }
}

#[async_trait]
impl StockHolds for FakeStock {
    async fn hold(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        quantity: i32,
        _expires_at: DateTime<Utc>,
    ) -> Result<HoldOutcome, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        if inner.holds.contains_key(&(order_id, variant_id)) {
            return Ok(HoldOutcome::Held);
        }
        let Some((on_hand, held)) = inner.variants.get_mut(&variant_id) else {
            return Ok(HoldOutcome::Insufficient);
        };
        if *on_hand - *held < quantity {
            return Ok(HoldOutcome::Insufficient);
        }
        *held += quantity;
        inner
            .holds
            .insert((order_id, variant_id), (quantity, HoldState::Active));
        Ok(HoldOutcome::Held)
    }

    async fn release(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        _reason: &str,
    ) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let inner = &mut *inner;
        match inner.holds.get_mut(&(order_id, variant_id)) {
            Some((quantity, state)) if *state == HoldState::Active => {
                *state = HoldState::Released;
                if let Some((_, held)) = inner.variants.get_mut(&variant_id) {
                    *held -= *quantity;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn commit(&self, order_id: Uuid, variant_id: Uuid) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let inner = &mut *inner;
        match inner.holds.get_mut(&(order_id, variant_id)) {
            Some((quantity, state)) if *state == HoldState::Active => {
                *state = HoldState::Committed;
                if let Some((on_hand, held)) = inner.variants.get_mut(&variant_id) {
                    *on_hand -= *quantity;
                    *held -= *quantity;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_expired(&self, _limit: u32) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// A payment gateway that answers from a script (then approves), idempotent per order as the
/// port requires: a charge already decided is answered the same way again.
#[derive(Default)]
pub struct FakeGateway {
    inner: Mutex<GatewayInner>,
}

#[derive(Default)]
struct GatewayInner {
    script: VecDeque<Result<ChargeOutcome, GatewayError>>,
    decided: HashMap<Uuid, ChargeOutcome>,
    calls: u32,
    refunded: Vec<Uuid>,
}

impl FakeGateway {
    /// The next charges' answers, in order; once used up, charges are approved.
    pub fn script(&self, answers: impl IntoIterator<Item = Result<ChargeOutcome, GatewayError>>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.script.extend(answers);
        }
    }

    /// Orders charged (decided, approved or declined), and charge calls made.
    pub fn charged(&self) -> (usize, u32) {
        self.inner
            .lock()
            .map(|i| (i.decided.len(), i.calls))
            .unwrap_or_default()
    }

    pub fn refunded(&self) -> Vec<Uuid> {
        self.inner
            .lock()
            .map(|i| i.refunded.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl PaymentGateway for FakeGateway {
    async fn charge(
        &self,
        order_id: Uuid,
        _token: &str,
        _amount: i64,
    ) -> Result<ChargeOutcome, GatewayError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| GatewayError("fake lock poisoned".into()))?;
        inner.calls += 1;
        if let Some(decided) = inner.decided.get(&order_id) {
            return Ok(decided.clone());
        }
        let answer = inner
            .script
            .pop_front()
            .unwrap_or(Ok(ChargeOutcome::Approved))?;
        inner.decided.insert(order_id, answer.clone());
        Ok(answer)
    }

    async fn refund(&self, order_id: Uuid) -> Result<(), GatewayError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| GatewayError("fake lock poisoned".into()))?;
        if !inner.refunded.contains(&order_id) {
            inner.refunded.push(order_id);
        }
        Ok(())
    }
}
