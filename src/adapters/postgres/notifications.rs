//! Cross-instance notifications over PostgreSQL `LISTEN/NOTIFY`: one listening connection per
//! channel per process fans payloads out to its subscribers through a broadcast channel, and
//! reconnects after a lost connection. Committed order transitions, saga wake-ups and applied
//! catalog versions travel this way, so every server instance hears what any of them did.

use std::time::Duration;

use async_trait::async_trait;
use mercado_resolvers::{
    StoreError,
    catalog::{AppliedVersion, CatalogChanges},
    purchases::{OrderEvents, SagaWakeups},
};
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::orders::{SAGA_CHANNEL, STATUS_CHANNEL};

/// Applied catalog versions, as `<id>:<version>`.
const CATALOG_CHANNEL: &str = "mercado_catalog";
/// Notifications buffered per subscriber before it lags (a lagging subscriber re-reads).
const CAPACITY: usize = 1024;

/// Listens on `channel` in the background and broadcasts each payload `parse` accepts. When
/// the connection was lost (PostgreSQL restarted), notifications sent meanwhile are gone: once
/// listening again it broadcasts `missed`, which tells every subscriber to re-read.
pub(crate) fn listen<T: Clone + Send + 'static>(
    pool: PgPool,
    channel: &'static str,
    parse: fn(&str) -> Option<T>,
    missed: T,
) -> broadcast::Sender<T> {
    let (sender, _) = broadcast::channel(CAPACITY);
    let tx = sender.clone();
    tokio::spawn(async move {
        let mut lost = false;
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if listener.listen(channel).await.is_ok() {
                        if lost {
                            tracing::info!(channel, "LISTEN re-established");
                            let _ = tx.send(missed.clone());
                        }
                        // `try_recv` says when the connection is gone (`recv` would reconnect
                        // silently, hiding that notifications were lost).
                        while let Ok(Some(n)) = listener.try_recv().await {
                            if let Some(value) = parse(n.payload()) {
                                // No receivers is fine: nobody is watching.
                                let _ = tx.send(value);
                            }
                        }
                        if pool.is_closed() {
                            return; // shutting down
                        }
                        tracing::warn!(channel, "LISTEN connection lost; reconnecting");
                        lost = true;
                    }
                }
                Err(e) => {
                    lost = true;
                    tracing::warn!(channel, error = %e, "LISTEN unavailable");
                }
            }
            if pool.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    sender
}

/// Committed order transitions (the saga NOTIFYs in the transaction that records them).
pub struct PgOrderEvents {
    sender: broadcast::Sender<Uuid>,
}

impl PgOrderEvents {
    pub fn start(pool: PgPool) -> Self {
        Self {
            sender: listen(
                pool,
                STATUS_CHANNEL,
                |p| Uuid::parse_str(p).ok(),
                Uuid::nil(),
            ),
        }
    }
}

impl OrderEvents for PgOrderEvents {
    fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

/// Orders placed or asked to cancel: wakes saga runners at once instead of at their next poll.
pub struct PgSagaWakeups {
    sender: broadcast::Sender<Uuid>,
}

impl PgSagaWakeups {
    pub fn start(pool: PgPool) -> Self {
        Self {
            sender: listen(pool, SAGA_CHANNEL, |p| Uuid::parse_str(p).ok(), Uuid::nil()),
        }
    }
}

impl SagaWakeups for PgSagaWakeups {
    fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

/// Applied catalog versions: announced after each read-model write, heard by every instance.
pub struct PgCatalogChanges {
    pool: PgPool,
    sender: broadcast::Sender<AppliedVersion>,
}

impl PgCatalogChanges {
    pub fn start(pool: PgPool) -> Self {
        Self {
            sender: listen(
                pool.clone(),
                CATALOG_CHANNEL,
                parse_applied,
                AppliedVersion::MISSED,
            ),
            pool,
        }
    }
}

fn parse_applied(payload: &str) -> Option<AppliedVersion> {
    let (id, version) = payload.split_once(':')?;
    Some(AppliedVersion {
        id: Uuid::parse_str(id).ok()?,
        version: version.parse().ok()?,
    })
}

#[async_trait]
impl CatalogChanges for PgCatalogChanges {
    async fn announce(&self, applied: AppliedVersion) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CATALOG_CHANNEL)
            .bind(format!("{}:{}", applied.id, applied.version))
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(format!("catalog NOTIFY: {e}")))
    }

    fn subscribe(&self) -> broadcast::Receiver<AppliedVersion> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_versions_parse_from_their_payload() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse_applied(&format!("{id}:42")),
            Some(AppliedVersion { id, version: 42 })
        );
        assert_eq!(parse_applied("nope"), None);
        assert_eq!(parse_applied(&format!("{id}:x")), None);
    }
}
