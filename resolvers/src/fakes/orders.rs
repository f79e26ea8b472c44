//! Orders in memory, with their status events.
//!
//! As the PostgreSQL store: placing is idempotent per buyer and key (the same body answers
//! the order placed before, another body is a conflict: [`NewOrder::canonical_body`]), lines are priced from what is for sale when the order is placed
//! (a line that is not, or lines in several currencies, are refused in the store's own terms:
//! [`Rejected::OrderLine`], [`Rejected::OrderLines`]; the resolver names the field), every
//! transition gets the next sequence number and is announced to [`OrderEvents`]
//! subscribers, listings are newest first with opaque cursors, and a cancellation is only
//! *requested* (the saga acts on it). [`FakeOrders::advance`] plays the saga's part.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_trait::async_trait;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{Clock, poisoned};
use crate::{
    Rejected, StoreError,
    money::Money,
    page::{parse_time_cursor, time_cursor},
    purchases::{
        NewOrder, Order, OrderEvents, OrderLine, OrderPage, OrderStatus, OrderStore, PlaceOutcome,
        Transition,
    },
};

/// Status events buffered per subscriber before it lags (as the NOTIFY listener's channel).
const EVENTS_CAPACITY: usize = 1024;

/// A variant for sale: what a new order line is priced from.
struct Offer {
    product_id: Uuid,
    seller_id: String,
    sku: String,
    price: Money,
}

struct Stored {
    order: Order,
    /// The canonical body the idempotency key was first used with.
    body: String,
    cancel_requested: bool,
}

#[derive(Default)]
struct OrdersInner {
    offers: HashMap<Uuid, Offer>,
    orders: HashMap<Uuid, Stored>,
    /// (buyer, idempotency key) → order.
    keys: HashMap<(String, String), Uuid>,
    /// Each order is created strictly after the previous.
    clock: Clock,
}

/// Orders, what is for sale, and the status events of every transition.
pub struct FakeOrders {
    inner: Mutex<OrdersInner>,
    events: broadcast::Sender<Uuid>,
    unavailable: AtomicBool,
}

impl Default for FakeOrders {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            events: broadcast::channel(EVENTS_CAPACITY).0,
            unavailable: AtomicBool::new(false),
        }
    }
}

impl FakeOrders {
    /// Puts a variant of a new product of `seller_id` up for sale at `price`; returns the
    /// variant's id.
    pub fn for_sale(&self, seller_id: &str, sku: &str, price: Money) -> Uuid {
        let id = Uuid::new_v4();
        if let Ok(mut inner) = self.inner.lock() {
            inner.offers.insert(
                id,
                Offer {
                    product_id: Uuid::new_v4(),
                    seller_id: seller_id.to_string(),
                    sku: sku.to_string(),
                    price,
                },
            );
        }
        id
    }

    /// Moves a non-terminal order to `to` as the saga would (recording the transition and
    /// announcing it); false when the order is missing or already terminal.
    pub fn advance(&self, id: Uuid, to: OrderStatus, reason: Option<&str>) -> bool {
        let moved = self.advance_unannounced(id, to, reason);
        if moved {
            let _ = self.events.send(id);
        }
        moved
    }

    /// Announces that announcements may have been missed (as the PostgreSQL notifier does
    /// after reconnecting): every follower re-reads.
    pub fn announce_missed(&self) {
        let _ = self.events.send(Uuid::nil());
    }

    /// [`FakeOrders::advance`] whose announcement is lost (as during a database restart).
    pub fn advance_unannounced(&self, id: Uuid, to: OrderStatus, reason: Option<&str>) -> bool {
        match self.inner.lock() {
            Ok(mut inner) => {
                let at = inner.clock.tick();
                match inner.orders.get_mut(&id) {
                    Some(stored) if !stored.order.status.is_terminal() => {
                        let order = &mut stored.order;
                        order.status = to;
                        order.reason = reason.map(str::to_string);
                        order.updated_at = at;
                        order.transitions.push(Transition {
                            status: to,
                            reason: order.reason.clone(),
                            at,
                        });
                        true
                    }
                    _ => false,
                }
            }
            Err(_) => false,
        }
    }

    /// The order as stored now.
    pub fn stored(&self, id: Uuid) -> Option<Order> {
        self.inner
            .lock()
            .ok()?
            .orders
            .get(&id)
            .map(|s| s.order.clone())
    }

    /// Whether the buyer asked to cancel the order.
    pub fn cancel_requested(&self, id: Uuid) -> bool {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.orders.get(&id).map(|s| s.cancel_requested))
            .unwrap_or(false)
    }

    /// While set, every [`OrderStore`] call answers `StoreError::Unavailable` (the helpers
    /// above keep working, as the saga would on another connection).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::Relaxed);
    }

    /// The store's lock, or `Unavailable` while the store is down.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, OrdersInner>, StoreError> {
        if self.unavailable.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("fake order store is down".into()));
        }
        self.inner.lock().map_err(|_| poisoned())
    }

    /// The orders `keep` selects, newest first, `first` after the cursor `after`.
    fn page(
        &self,
        keep: impl Fn(&Order) -> bool,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        let after = after.map(parse_time_cursor).transpose()?;
        let inner = self.lock()?;
        let mut selected: Vec<&Order> = inner
            .orders
            .values()
            .map(|s| &s.order)
            .filter(|o| keep(o))
            .filter(|o| after.is_none_or(|a| (o.created_at, o.id) < a))
            .collect();
        selected.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let has_next_page = selected.len() > first;
        Ok(OrderPage {
            items: selected
                .into_iter()
                .take(first)
                .map(|o| (time_cursor(o.created_at, o.id), o.clone()))
                .collect(),
            has_next_page,
        })
    }

    /// Orders stored, every buyer's.
    pub fn count(&self) -> usize {
        self.inner.lock().map(|i| i.orders.len()).unwrap_or(0)
    }
}

#[async_trait]
impl OrderStore for FakeOrders {
    async fn place(&self, buyer_id: &str, order: NewOrder) -> Result<PlaceOutcome, StoreError> {
        let body = order.canonical_body();
        let created = {
            let mut inner = self.lock()?;
            let key = (buyer_id.to_string(), order.idempotency_key.clone());
            if let Some(id) = inner.keys.get(&key) {
                let stored = inner.orders.get(id).ok_or(StoreError::NotFound)?;
                if stored.body != body {
                    return Err(StoreError::Conflict(
                        "this idempotencyKey was used for a different order".into(),
                    ));
                }
                return Ok(PlaceOutcome::Existing(stored.order.clone()));
            }
            let mut lines = Vec::with_capacity(order.lines.len());
            for (i, line) in order.lines.iter().enumerate() {
                let offer =
                    inner
                        .offers
                        .get(&line.variant_id)
                        .ok_or_else(|| StoreError::Rejected {
                            what: Rejected::OrderLine(i),
                            message: "is not for sale".into(),
                        })?;
                lines.push(OrderLine {
                    variant_id: line.variant_id,
                    product_id: offer.product_id,
                    seller_id: offer.seller_id.clone(),
                    sku: offer.sku.clone(),
                    quantity: line.quantity,
                    unit_price: offer.price.clone(),
                });
            }
            let currency = lines
                .first()
                .map(|l| l.unit_price.currency.clone())
                .unwrap_or_default();
            if lines.iter().any(|l| l.unit_price.currency != currency) {
                return Err(StoreError::Rejected {
                    what: Rejected::OrderLines,
                    message: "all lines must be priced in one currency".into(),
                });
            }
            let total = lines
                .iter()
                .map(|l| l.unit_price.amount.saturating_mul(i64::from(l.quantity)))
                .sum();
            let at = inner.clock.tick();
            let created = Order {
                id: Uuid::now_v7(),
                buyer_id: buyer_id.to_string(),
                status: OrderStatus::Pending,
                reason: None,
                lines,
                total: Money {
                    amount: total,
                    currency,
                },
                transitions: vec![Transition {
                    status: OrderStatus::Pending,
                    reason: None,
                    at,
                }],
                shipping_address: Some(order.shipping_address.clone()),
                created_at: at,
                updated_at: at,
            };
            inner.keys.insert(key, created.id);
            inner.orders.insert(
                created.id,
                Stored {
                    order: created.clone(),
                    body,
                    cancel_requested: false,
                },
            );
            created
        };
        let _ = self.events.send(created.id);
        Ok(PlaceOutcome::Created(created))
    }

    async fn get(&self, id: Uuid) -> Result<Option<Order>, StoreError> {
        Ok(self.lock()?.orders.get(&id).map(|s| s.order.clone()))
    }

    async fn list_for_buyer(
        &self,
        buyer_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        self.page(|o| o.buyer_id == buyer_id, first, after)
    }

    async fn list_for_seller(
        &self,
        seller_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        self.page(
            |o| o.lines.iter().any(|l| l.seller_id == seller_id),
            first,
            after,
        )
    }

    async fn request_cancel(&self, buyer_id: &str, id: Uuid) -> Result<Order, StoreError> {
        let mut inner = self.lock()?;
        let stored = inner
            .orders
            .get_mut(&id)
            .filter(|s| s.order.buyer_id == buyer_id)
            .ok_or(StoreError::NotFound)?;
        if stored.order.status.is_terminal() {
            return Err(StoreError::Conflict(format!(
                "the order is {} and can no longer be cancelled",
                stored.order.status.as_str()
            )));
        }
        stored.cancel_requested = true;
        Ok(stored.order.clone())
    }

    async fn transitions_after(
        &self,
        id: Uuid,
        after_seq: i32,
    ) -> Result<Vec<(i32, Transition)>, StoreError> {
        let inner = self.lock()?;
        let Some(stored) = inner.orders.get(&id) else {
            return Ok(Vec::new());
        };
        Ok((1..)
            .zip(stored.order.transitions.iter().cloned())
            .filter(|(seq, _)| *seq > after_seq)
            .collect())
    }
}

impl OrderEvents for FakeOrders {
    fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::purchases::NewOrderLine;

    fn eur(amount: i64) -> Money {
        Money {
            amount,
            currency: "EUR".into(),
        }
    }

    #[tokio::test]
    async fn a_key_is_bound_to_its_body_and_transitions_are_numbered() {
        let orders = FakeOrders::default();
        let (a, b) = (
            orders.for_sale("s", "A", eur(100)),
            orders.for_sale("s", "B", eur(250)),
        );
        let new = |lines: Vec<(Uuid, i32)>, token: &str| NewOrder {
            lines: lines
                .into_iter()
                .map(|(variant_id, quantity)| NewOrderLine {
                    variant_id,
                    quantity,
                })
                .collect(),
            payment_token: token.into(),
            idempotency_key: "k".into(),
            shipping_address: Default::default(),
        };
        let PlaceOutcome::Created(first) = orders
            .place("u", new(vec![(a, 1), (b, 2)], "tok"))
            .await
            .unwrap()
        else {
            panic!("expected a new order")
        };
        assert_eq!(first.total, eur(600));
        // The same body, lines in another order: the same order.
        assert_eq!(
            orders
                .place("u", new(vec![(b, 2), (a, 1)], "tok"))
                .await
                .unwrap(),
            PlaceOutcome::Existing(first.clone())
        );
        assert!(matches!(
            orders.place("u", new(vec![(a, 1)], "tok")).await,
            Err(StoreError::Conflict(_))
        ));
        // Keys are per buyer.
        assert!(matches!(
            orders.place("v", new(vec![(a, 1)], "tok")).await,
            Ok(PlaceOutcome::Created(_))
        ));
        assert!(orders.advance(first.id, OrderStatus::StockHeld, None));
        let seqs: Vec<i32> = orders
            .transitions_after(first.id, 1)
            .await
            .unwrap()
            .into_iter()
            .map(|(seq, _)| seq)
            .collect();
        assert_eq!(seqs, [2]);
    }
}
