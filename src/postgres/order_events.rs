//! Committed order transitions, heard by every server instance: one `LISTEN` connection per
//! process fans notifications out to its subscriptions through a broadcast channel.

use std::time::Duration;

use mercado_resolvers::purchases::OrderEvents;
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::orders::STATUS_CHANNEL;

/// Notifications buffered per subscriber before it lags (a lagging subscriber re-reads).
const CAPACITY: usize = 1024;

pub struct PgOrderEvents {
    sender: broadcast::Sender<Uuid>,
}

impl PgOrderEvents {
    /// Starts listening in the background; reconnects after a lost connection.
    pub fn start(pool: PgPool) -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        let tx = sender.clone();
        tokio::spawn(async move {
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if listener.listen(STATUS_CHANNEL).await.is_ok() {
                            while let Ok(n) = listener.recv().await {
                                if let Ok(id) = Uuid::parse_str(n.payload()) {
                                    // No receivers is fine: nobody is watching.
                                    let _ = tx.send(id);
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "order status LISTEN unavailable"),
                }
                if pool.is_closed() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { sender }
    }
}

impl OrderEvents for PgOrderEvents {
    fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}
