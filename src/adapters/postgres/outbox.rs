//! The transactional outbox: writes enqueue inside their own transaction; the relay claims,
//! publishes and marks rows through [`PgOutbox`], woken by the commit-time NOTIFY.

use async_trait::async_trait;
use mercado_resolvers::StoreError;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{notifications::listen, store_error};
use crate::{
    events::EventEnvelope,
    workers::relay::{Outbox, OutboxClaim},
};

/// NOTIFY channel the outbox trigger signals on commit.
pub const CHANNEL: &str = "mercado_outbox";

/// Adds an event to the outbox inside the caller's transaction.
pub async fn enqueue(conn: &mut PgConnection, event: &EventEnvelope) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, event_type, aggregate_id, version, occurred_at, payload,
                             traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.id)
    .bind(&event.event_type)
    .bind(event.aggregate_id)
    .bind(event.version)
    .bind(event.occurred_at)
    .bind(&event.payload)
    .bind(&event.traceparent)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    event_type: String,
    aggregate_id: Uuid,
    version: i64,
    occurred_at: chrono::DateTime<chrono::Utc>,
    payload: serde_json::Value,
    traceparent: Option<String>,
}

/// The outbox table, claimed in batches, with the commit-time NOTIFY as its wake-up.
pub struct PgOutbox {
    pool: PgPool,
    wakeups: broadcast::Sender<()>,
}

impl PgOutbox {
    pub fn start(pool: PgPool) -> Self {
        Self {
            wakeups: listen(pool.clone(), CHANNEL, |_| Some(()), ()),
            pool,
        }
    }

    /// Events still waiting to leave (for tests and operators).
    #[tracing::instrument(name = "pg.pending_count", skip_all, fields(db.system.name = "postgresql"))]
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)
    }
}

#[async_trait]
impl Outbox for PgOutbox {
    #[tracing::instrument(name = "pg.claim", skip_all, fields(db.system.name = "postgresql"))]
    async fn claim(&self, limit: u32) -> Result<Box<dyn OutboxClaim>, StoreError> {
        Ok(Box::new(
            claim(&self.pool, limit).await.map_err(store_error)?,
        ))
    }

    fn wakeups(&self) -> broadcast::Receiver<()> {
        self.wakeups.subscribe()
    }
}

/// A claimed batch. The rows stay locked (other relays skip them) until it is finished, so a
/// crash before then leaves them unpublished for the next attempt.
pub struct Claim {
    tx: Transaction<'static, Postgres>,
    events: Vec<EventEnvelope>,
}

/// Claims up to `limit` unpublished events, oldest first, skipping rows another relay holds.
async fn claim(pool: &PgPool, limit: u32) -> Result<Claim, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows: Vec<OutboxRow> = sqlx::query_as(
        "SELECT id, event_type, aggregate_id, version, occurred_at, payload, traceparent
         FROM outbox WHERE published_at IS NULL
         ORDER BY seq LIMIT $1
         FOR UPDATE SKIP LOCKED",
    )
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let events = rows
        .into_iter()
        .map(|r| EventEnvelope {
            id: r.id,
            event_type: r.event_type,
            aggregate_id: r.aggregate_id,
            version: r.version,
            occurred_at: r.occurred_at,
            payload: r.payload,
            traceparent: r.traceparent,
        })
        .collect();
    Ok(Claim { tx, events })
}

#[async_trait]
impl OutboxClaim for Claim {
    fn events(&self) -> &[EventEnvelope] {
        &self.events
    }

    #[tracing::instrument(name = "pg.finish", skip_all, fields(db.system.name = "postgresql"))]
    async fn finish(
        self: Box<Self>,
        published: &[Uuid],
        failed: &[(Uuid, String)],
    ) -> Result<(), StoreError> {
        self.finish_rows(published, failed)
            .await
            .map_err(store_error)
    }
}

impl Claim {
    /// Marks `published` as sent and records the failures, then releases the claim.
    #[tracing::instrument(name = "pg.finish_rows", skip_all, fields(db.system.name = "postgresql"))]
    async fn finish_rows(
        mut self,
        published: &[Uuid],
        failed: &[(Uuid, String)],
    ) -> Result<(), sqlx::Error> {
        if !published.is_empty() {
            sqlx::query(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
                 WHERE id = ANY($1)",
            )
            .bind(published)
            .execute(&mut *self.tx)
            .await?;
        }
        for (id, error) in failed {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
                .bind(id)
                .bind(error)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await
    }
}
