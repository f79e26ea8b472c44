//! PostgreSQL: the source of truth. Connection, migrations, and the stores that implement the
//! resolvers' write ports.

mod inventory;
mod local_identity;
pub mod notifications;
pub mod orders;
pub mod outbox;
mod test_gateway;
mod throttle;

use std::time::Duration;

pub use inventory::PgInventory;
pub use local_identity::LocalIdentity;
use mercado_resolvers::StoreError;
pub use orders::PgOrders;
use sqlx::{PgPool, postgres::PgPoolOptions};
pub use test_gateway::TestGateway;
pub use throttle::PgSignInThrottle;

use crate::{StartupError, app::config::DatabaseConfig};

/// A session-level advisory lock: held on one pooled connection until released, and released
/// by PostgreSQL if that connection dies, so a crashed holder never blocks the others.
pub struct AdvisoryLock {
    pool: PgPool,
    key: i64,
}

impl AdvisoryLock {
    pub fn new(pool: PgPool, key: i64) -> Self {
        Self { pool, key }
    }
}

struct HeldLock {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    key: i64,
}

#[async_trait::async_trait]
impl crate::workers::reconciler::Exclusive for AdvisoryLock {
    async fn try_acquire(
        &self,
    ) -> Result<Option<Box<dyn crate::workers::reconciler::ExclusiveGuard>>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(self.key)
            .fetch_one(&mut *conn)
            .await
            .map_err(store_error)?;
        Ok(locked.then(|| {
            Box::new(HeldLock {
                conn,
                key: self.key,
            }) as Box<dyn crate::workers::reconciler::ExclusiveGuard>
        }))
    }
}

#[async_trait::async_trait]
impl crate::workers::reconciler::ExclusiveGuard for HeldLock {
    async fn release(mut self: Box<Self>) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut *self.conn)
            .await;
    }
}

/// Whether PostgreSQL answers (readiness).
pub async fn ping(pool: PgPool) -> Result<(), String> {
    sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, StartupError> {
    PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&config.database_url)
        .await
        .map_err(|e| StartupError::Postgres(format!("DATABASE_URL: cannot connect: {e}")))
}

pub async fn migrate(pool: &PgPool) -> Result<(), StartupError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| StartupError::Postgres(format!("migration failed: {e}")))
}

/// Maps a sqlx error onto the port error: connectivity is `Unavailable`, the rest a defect.
pub(crate) fn store_error(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(format!("postgres: {err}"))
        }
        other => StoreError::Internal(format!("postgres: {other}")),
    }
}

/// Sets the metrics that describe what PostgreSQL holds (just before a scrape): the outbox
/// backlog and the age of its oldest event, unfinished orders by status and the age of the
/// one left longest untouched, and the pool's connections. Each query reads only a partial
/// index's rows (unpublished events, unfinished orders), so a scrape stays cheap however
/// much history the tables keep.
pub async fn sample_metrics(pool: &PgPool) -> Result<(), StoreError> {
    let m = mercado_resolvers::telemetry::metrics();
    let (backlog, oldest): (i64, f64) = sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at))::float8, 0) \
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(store_error)?;
    m.outbox_backlog.set(backlog);
    m.outbox_oldest_age.set(oldest.max(0.0));
    let unfinished: Vec<(String, i64, f64)> = sqlx::query_as(
        "SELECT status, count(*), extract(epoch FROM now() - min(updated_at))::float8 \
         FROM orders WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID') GROUP BY status",
    )
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    for status in ["PENDING", "STOCK_HELD", "PAID"] {
        let n = unfinished
            .iter()
            .find(|(s, ..)| s == status)
            .map_or(0, |r| r.1);
        m.set_orders(status, n);
    }
    let oldest_active = unfinished.iter().map(|r| r.2).fold(0.0, f64::max);
    m.saga_oldest_active_age.set(oldest_active);
    let (size, idle) = (i64::from(pool.size()), pool.num_idle() as i64);
    m.set_db_pool("in_use", size - idle);
    m.set_db_pool("idle", idle);
    m.set_db_pool("max", i64::from(pool.options().get_max_connections()));
    Ok(())
}
