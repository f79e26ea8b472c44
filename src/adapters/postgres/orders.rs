//! Orders on PostgreSQL: placing (idempotent per buyer and key), reading, cancelling, and the
//! saga's conditional transitions. Every transition appends to `order_transitions` (whose
//! trigger NOTIFYs every instance), writes the outbox event, and commits with the status.

use async_trait::async_trait;
use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use mercado_resolvers::{
    Rejected, StoreError,
    address::Address,
    money::Money,
    page::{parse_time_cursor, time_cursor},
    purchases::{
        NewOrder, Order, OrderLine, OrderPage, OrderStatus, OrderStore, PlaceOutcome, SagaLine,
        SagaState, SagaStore, Transition,
    },
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{outbox, store_error};
use crate::events::{EventEnvelope, ORDER_STATUS_CHANGED};

/// NOTIFY channel that wakes saga runners.
pub const SAGA_CHANNEL: &str = "mercado_saga";
/// NOTIFY channel of committed transitions (payload: the order id).
pub const STATUS_CHANNEL: &str = "mercado_order_status";

#[derive(Clone)]
pub struct PgOrders {
    pool: PgPool,
    hold_ttl_seconds: i64,
    /// How long the runner leaves an order after it is placed or changes (0: at once; with
    /// Step Functions driving, the sweep delay).
    sweep_after_seconds: i64,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    buyer_id: String,
    status: String,
    reason: Option<String>,
    total_amount: i64,
    currency: String,
    shipping_address: Option<sqlx::types::Json<Address>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: Uuid,
    variant_id: Uuid,
    product_id: Uuid,
    seller_id: String,
    sku: String,
    quantity: i32,
    unit_amount: i64,
}

#[derive(sqlx::FromRow)]
struct TransitionRow {
    order_id: Uuid,
    status: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SeqTransitionRow {
    seq: i32,
    status: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

/// Whose orders a listing shows.
#[derive(Clone, Copy)]
enum Party {
    Buyer,
    Seller,
}

/// A variant as an order prices it.
#[derive(sqlx::FromRow)]
struct PricedVariant {
    id: Uuid,
    product_id: Uuid,
    seller_id: String,
    sku: String,
    price_amount: i64,
    currency: String,
}

/// An order's saga columns, as stored.
#[derive(sqlx::FromRow)]
struct SagaRow {
    id: Uuid,
    status: String,
    cancel_requested: bool,
    payment_token: String,
    total_amount: i64,
    payment_attempts: i32,
    hold_expires_at: DateTime<Utc>,
    traceparent: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SagaLineRow {
    variant_id: Uuid,
    quantity: i32,
    sku: String,
}

/// A stored status, which the schema's CHECK constraint keeps to the known ones.
fn stored_status(status: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(status)
        .ok_or_else(|| StoreError::Internal(format!("unknown order status {status:?}")))
}

fn request_hash(order: &NewOrder) -> Vec<u8> {
    digest::digest(&digest::SHA256, order.canonical_body().as_bytes())
        .as_ref()
        .to_vec()
}

impl PgOrders {
    pub fn new(pool: PgPool, hold_ttl_seconds: i64) -> Self {
        Self {
            pool,
            hold_ttl_seconds,
            sweep_after_seconds: 0,
        }
    }

    /// Leaves each order to another engine for `seconds` after it is placed or changes,
    /// before the runner takes it up (sweeps it).
    pub fn sweeping_after(self, seconds: i64) -> Self {
        Self {
            sweep_after_seconds: seconds,
            ..self
        }
    }

    #[tracing::instrument(name = "pg.load", skip_all, fields(db.system.name = "postgresql"))]
    async fn load(&self, conn: &mut PgConnection, id: Uuid) -> Result<Option<Order>, StoreError> {
        Ok(self.load_many(conn, &[id]).await?.pop())
    }

    /// Orders with their lines and transitions, in the order of `ids` (missing ones left out),
    /// in three queries whatever their number.
    #[tracing::instrument(name = "pg.load_many", skip_all, fields(db.system.name = "postgresql"))]
    async fn load_many(
        &self,
        conn: &mut PgConnection,
        ids: &[Uuid],
    ) -> Result<Vec<Order>, StoreError> {
        let rows: Vec<OrderRow> = sqlx::query_as(
            "SELECT id, buyer_id, status, reason, total_amount, currency, shipping_address,
                    created_at, updated_at
             FROM orders WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        let lines: Vec<LineRow> = sqlx::query_as(
            "SELECT order_id, variant_id, product_id, seller_id, sku, quantity, unit_amount
             FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, line_no",
        )
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        let transitions: Vec<TransitionRow> = sqlx::query_as(
            "SELECT order_id, status, reason, at FROM order_transitions
             WHERE order_id = ANY($1) ORDER BY order_id, seq",
        )
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        let mut orders: std::collections::HashMap<Uuid, Order> = rows
            .into_iter()
            .map(|row| {
                let currency = row.currency.trim().to_string();
                let order = Order {
                    id: row.id,
                    buyer_id: row.buyer_id,
                    status: stored_status(&row.status)?,
                    reason: row.reason,
                    lines: Vec::new(),
                    total: Money {
                        amount: row.total_amount,
                        currency,
                    },
                    transitions: Vec::new(),
                    shipping_address: row.shipping_address.map(|a| a.0),
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                };
                Ok((order.id, order))
            })
            .collect::<Result<_, StoreError>>()?;
        for line in lines {
            if let Some(order) = orders.get_mut(&line.order_id) {
                let currency = order.total.currency.clone();
                order.lines.push(OrderLine {
                    variant_id: line.variant_id,
                    product_id: line.product_id,
                    seller_id: line.seller_id,
                    sku: line.sku,
                    quantity: line.quantity,
                    unit_price: Money {
                        amount: line.unit_amount,
                        currency,
                    },
                });
            }
        }
        for t in transitions {
            if let Some(order) = orders.get_mut(&t.order_id) {
                order.transitions.push(Transition {
                    status: stored_status(&t.status)?,
                    reason: t.reason,
                    at: t.at,
                });
            }
        }
        Ok(ids.iter().filter_map(|id| orders.remove(id)).collect())
    }

    /// One page of a party's orders, newest first.
    #[tracing::instrument(name = "pg.page", skip_all, fields(db.system.name = "postgresql"))]
    async fn page(
        &self,
        party: Party,
        user_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        let after = after.map(parse_time_cursor).transpose()?;
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        // Both order by (created_at, id): the cursor's columns, served by an index.
        let sql = match party {
            Party::Buyer => {
                "SELECT id FROM orders
                 WHERE buyer_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            }
            Party::Seller => {
                "SELECT id FROM orders
                 WHERE id IN (SELECT order_id FROM order_lines WHERE seller_id = $1)
                   AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            }
        };
        let rows: Vec<Uuid> = sqlx::query_scalar(sql)
            .bind(user_id)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1).unwrap_or_default())
            .bind(i64::try_from(first + 1).unwrap_or(101))
            .fetch_all(&mut *conn)
            .await
            .map_err(store_error)?;
        let has_next_page = rows.len() > first;
        let orders = self
            .load_many(&mut conn, &rows[..rows.len().min(first)])
            .await?;
        Ok(OrderPage {
            items: orders
                .into_iter()
                .map(|o| (time_cursor(o.created_at, o.id), o))
                .collect(),
            has_next_page,
        })
    }

    #[tracing::instrument(name = "pg.transitions", skip_all, fields(db.system.name = "postgresql"))]
    async fn transitions(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        after_seq: i32,
    ) -> Result<Vec<(i32, Transition)>, StoreError> {
        let rows: Vec<SeqTransitionRow> = sqlx::query_as(
            "SELECT seq, status, reason, at FROM order_transitions
             WHERE order_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(id)
        .bind(after_seq)
        .fetch_all(conn)
        .await
        .map_err(store_error)?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.seq,
                    Transition {
                        status: stored_status(&r.status)?,
                        reason: r.reason,
                        at: r.at,
                    },
                ))
            })
            .collect()
    }

    /// Appends a transition, its outbox event and a wake-up, inside the caller's transaction.
    #[tracing::instrument(name = "pg.record", skip_all, fields(db.system.name = "postgresql"))]
    async fn record(
        conn: &mut PgConnection,
        id: Uuid,
        version: i64,
        status: OrderStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let (seq, at): (i32, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO order_transitions (order_id, seq, status, reason)
             VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM order_transitions WHERE order_id = $1), $2, $3)
             RETURNING seq, at",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(reason)
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
        let event = EventEnvelope::new(
            ORDER_STATUS_CHANGED,
            id,
            version,
            serde_json::json!({"orderId": id, "status": status.as_str(), "reason": reason, "seq": seq, "at": at}),
        );
        outbox::enqueue(conn, &event).await.map_err(store_error)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(SAGA_CHANNEL)
            .bind(id.to_string())
            .execute(conn)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[async_trait]
impl SagaStore for PgOrders {
    /// Moves an order from `from` to `to` if it is still in `from`; false when another runner
    /// moved it first (nothing is written then).
    #[tracing::instrument(name = "pg.transition", skip_all, fields(db.system.name = "postgresql"))]
    async fn transition(
        &self,
        id: Uuid,
        from: OrderStatus,
        to: OrderStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE orders SET status = $3, reason = $4, version = version + 1, updated_at = now(),
                    next_attempt_at = now() + make_interval(secs => $5),
                    lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND status = $2 RETURNING version",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(reason)
        .bind(self.sweep_after_seconds as f64)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(version) = version else {
            return Ok(false);
        };
        Self::record(&mut tx, id, version, to, reason).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    /// Leases up to `limit` due, non-terminal orders to `owner` for `lease_seconds`.
    #[tracing::instrument(name = "pg.claim_due", skip_all, fields(db.system.name = "postgresql"))]
    async fn claim_due(
        &self,
        owner: Uuid,
        limit: u32,
        lease_seconds: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query_scalar(
            "UPDATE orders SET lease_owner = $1, lease_until = now() + make_interval(secs => $3)
             WHERE id IN (
                 SELECT id FROM orders
                 WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID') AND next_attempt_at <= now()
                   AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $1)
                 ORDER BY next_attempt_at LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(owner)
        .bind(i64::from(limit))
        .bind(lease_seconds as f64)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)
    }

    #[tracing::instrument(name = "pg.saga_state", skip_all, fields(db.system.name = "postgresql"))]
    async fn saga_state(&self, id: Uuid) -> Result<Option<SagaState>, StoreError> {
        let row: Option<SagaRow> = sqlx::query_as(
            "SELECT id, status, cancel_requested, payment_token, total_amount, payment_attempts,
                    hold_expires_at, traceparent
             FROM orders WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(|r| {
            Ok(SagaState {
                id: r.id,
                status: stored_status(&r.status)?,
                cancel_requested: r.cancel_requested,
                payment_token: r.payment_token,
                total_amount: r.total_amount,
                payment_attempts: r.payment_attempts,
                hold_expires_at: r.hold_expires_at,
                traceparent: r.traceparent,
            })
        })
        .transpose()
    }

    #[tracing::instrument(name = "pg.lines", skip_all, fields(db.system.name = "postgresql"))]
    async fn lines(&self, id: Uuid) -> Result<Vec<SagaLine>, StoreError> {
        let rows: Vec<SagaLineRow> = sqlx::query_as(
            "SELECT variant_id, quantity, sku FROM order_lines WHERE order_id = $1 ORDER BY line_no",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|r| SagaLine {
                variant_id: r.variant_id,
                quantity: r.quantity,
                sku: r.sku,
            })
            .collect())
    }

    /// Schedules another payment attempt after `delay_ms` and gives up the lease.
    #[tracing::instrument(name = "pg.retry_payment_later", skip_all, fields(db.system.name = "postgresql"))]
    async fn retry_payment_later(&self, id: Uuid, delay_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE orders SET payment_attempts = payment_attempts + 1,
                    next_attempt_at = now() + make_interval(secs => $2),
                    lease_owner = NULL, lease_until = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(delay_ms as f64 / 1000.0)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Makes orders whose holds have expired due now, so the saga expires them.
    #[tracing::instrument(name = "pg.due_expired", skip_all, fields(db.system.name = "postgresql"))]
    async fn due_expired(&self) -> Result<u64, StoreError> {
        sqlx::query(
            "UPDATE orders SET next_attempt_at = now()
             WHERE status IN ('PENDING', 'STOCK_HELD') AND hold_expires_at < now()
               AND next_attempt_at > now()",
        )
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(store_error)
    }
}

#[async_trait]
impl OrderStore for PgOrders {
    #[tracing::instrument(name = "pg.place", skip_all, fields(db.system.name = "postgresql"))]
    async fn place(&self, buyer_id: &str, order: NewOrder) -> Result<PlaceOutcome, StoreError> {
        let hash = request_hash(&order);
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let existing: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT id, request_hash FROM orders WHERE buyer_id = $1 AND idempotency_key = $2",
        )
        .bind(buyer_id)
        .bind(&order.idempotency_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        if let Some((id, stored)) = existing {
            if stored != hash {
                return Err(StoreError::Conflict(
                    "this idempotencyKey was used for a different order".into(),
                ));
            }
            let found = self.load(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            return Ok(PlaceOutcome::Existing(found));
        }
        let ids: Vec<Uuid> = order.lines.iter().map(|l| l.variant_id).collect();
        let variants: Vec<PricedVariant> = sqlx::query_as(
            "SELECT v.id, v.product_id, v.seller_id, v.sku, v.price_amount, v.currency
             FROM variants v JOIN products p ON p.id = v.product_id
             WHERE v.id = ANY($1) AND v.removed_at IS NULL AND p.deleted_at IS NULL
               AND p.status = 'ACTIVE'",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        let mut priced = Vec::with_capacity(order.lines.len());
        for (i, line) in order.lines.iter().enumerate() {
            let Some(v) = variants.iter().find(|v| v.id == line.variant_id) else {
                return Err(StoreError::Rejected {
                    what: Rejected::OrderLine(i),
                    message: "is not for sale".into(),
                });
            };
            priced.push((line, v));
        }
        let currency = priced
            .first()
            .map(|(_, v)| v.currency.trim().to_string())
            .unwrap_or_default();
        if priced.iter().any(|(_, v)| v.currency.trim() != currency) {
            return Err(StoreError::Rejected {
                what: Rejected::OrderLines,
                message: "all lines must be priced in one currency".into(),
            });
        }
        let total: i64 = priced
            .iter()
            .map(|(l, v)| v.price_amount.saturating_mul(i64::from(l.quantity)))
            .sum();
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, payment_token,
                                 total_amount, currency, hold_expires_at, shipping_address,
                                 traceparent, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8), $9, $10,
                     now() + make_interval(secs => $11))
             ON CONFLICT (buyer_id, idempotency_key) DO NOTHING",
        )
        .bind(id)
        .bind(buyer_id)
        .bind(&order.idempotency_key)
        .bind(&hash)
        .bind(&order.payment_token)
        .bind(total)
        .bind(&currency)
        .bind(self.hold_ttl_seconds as f64)
        .bind(sqlx::types::Json(&order.shipping_address))
        .bind(mercado_resolvers::telemetry::current_traceparent())
        .bind(self.sweep_after_seconds as f64)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if inserted.rows_affected() == 0 {
            // A concurrent retry with the same key won: answer as a retry does.
            drop(tx);
            return self.place(buyer_id, order).await;
        }
        for (n, (line, v)) in priced.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_lines (order_id, line_no, variant_id, product_id, seller_id, sku,
                                          quantity, unit_amount)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(i32::try_from(n).unwrap_or(i32::MAX))
            .bind(line.variant_id)
            .bind(v.product_id)
            .bind(&v.seller_id)
            .bind(&v.sku)
            .bind(line.quantity)
            .bind(v.price_amount)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        Self::record(&mut tx, id, 1, OrderStatus::Pending, None).await?;
        let created = self.load(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(store_error)?;
        Ok(PlaceOutcome::Created(created))
    }

    #[tracing::instrument(name = "pg.get", skip_all, fields(db.system.name = "postgresql"))]
    async fn get(&self, id: Uuid) -> Result<Option<Order>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        self.load(&mut conn, id).await
    }

    #[tracing::instrument(name = "pg.list_for_buyer", skip_all, fields(db.system.name = "postgresql"))]
    async fn list_for_buyer(
        &self,
        buyer_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        self.page(Party::Buyer, buyer_id, first, after).await
    }

    #[tracing::instrument(name = "pg.list_for_seller", skip_all, fields(db.system.name = "postgresql"))]
    async fn list_for_seller(
        &self,
        seller_id: &str,
        first: usize,
        after: Option<&str>,
    ) -> Result<OrderPage, StoreError> {
        self.page(Party::Seller, seller_id, first, after).await
    }

    #[tracing::instrument(name = "pg.request_cancel", skip_all, fields(db.system.name = "postgresql"))]
    async fn request_cancel(&self, buyer_id: &str, id: Uuid) -> Result<Order, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM orders WHERE id = $1 AND buyer_id = $2 FOR UPDATE",
        )
        .bind(id)
        .bind(buyer_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(status) = status else {
            return Err(StoreError::NotFound);
        };
        let status = stored_status(&status)?;
        if status.is_terminal() {
            return Err(StoreError::Conflict(format!(
                "the order is {} and can no longer be cancelled",
                status.as_str()
            )));
        }
        sqlx::query(
            "UPDATE orders SET cancel_requested = true, next_attempt_at = now() WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(SAGA_CHANNEL)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let order = self.load(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(store_error)?;
        Ok(order)
    }

    #[tracing::instrument(name = "pg.transitions_after", skip_all, fields(db.system.name = "postgresql"))]
    async fn transitions_after(
        &self,
        id: Uuid,
        after_seq: i32,
    ) -> Result<Vec<(i32, Transition)>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        self.transitions(&mut conn, id, after_seq).await
    }
}
