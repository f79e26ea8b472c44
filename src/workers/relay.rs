//! The outbox relay: claims unpublished events (`FOR UPDATE SKIP LOCKED`, so several relays
//! share the work), publishes them, and marks them published. Woken by `LISTEN/NOTIFY` at
//! commit, with a polling fallback in case a notification is missed.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgListener};
use uuid::Uuid;

use super::{Shutdown, stopped};
use crate::{bus::Publisher, postgres::outbox};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub claimed: usize,
    pub published: usize,
    pub failed: usize,
}

/// Relays one batch of at most `limit` events.
pub async fn relay_once(
    pool: &PgPool,
    publisher: &dyn Publisher,
    limit: u32,
) -> Result<RelayReport, sqlx::Error> {
    let claim = outbox::claim(pool, limit).await?;
    if claim.events.is_empty() {
        claim.finish(&[], &[]).await?;
        return Ok(RelayReport::default());
    }
    let outcomes = publisher.publish(&claim.events).await;
    let mut published: Vec<Uuid> = Vec::with_capacity(claim.events.len());
    let mut failed: Vec<(Uuid, String)> = Vec::new();
    for (event, outcome) in claim.events.iter().zip(outcomes) {
        match outcome {
            Ok(()) => published.push(event.id),
            Err(why) => {
                tracing::warn!(event_id = %event.id, error = %why, "publish failed; will retry");
                failed.push((event.id, why));
            }
        }
    }
    let report = RelayReport {
        claimed: claim.events.len(),
        published: published.len(),
        failed: failed.len(),
    };
    claim.finish(&published, &failed).await?;
    Ok(report)
}

/// Relays until shutdown: drains the outbox whenever NOTIFY fires or `poll` elapses.
pub async fn run(
    pool: PgPool,
    publisher: std::sync::Arc<dyn Publisher>,
    limit: u32,
    poll: Duration,
    mut shutdown: Shutdown,
) {
    let mut listener = listen(&pool).await;
    loop {
        // Drain: keep going while batches come back full and clean.
        loop {
            match relay_once(&pool, publisher.as_ref(), limit).await {
                Ok(r) if r.claimed == limit as usize && r.failed == 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "relay batch failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            woke = wait_for_notify(&mut listener) => {
                if !woke {
                    // The listener broke: poll until it can be re-established.
                    tokio::time::sleep(poll).await;
                    listener = listen(&pool).await;
                }
            }
            () = tokio::time::sleep(poll) => {}
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "outbox LISTEN unavailable; polling only");
            return None;
        }
    };
    match listener.listen(outbox::CHANNEL).await {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "outbox LISTEN failed; polling only");
            None
        }
    }
}

/// True when a notification arrived; false when there is no working listener.
async fn wait_for_notify(listener: &mut Option<PgListener>) -> bool {
    let Some(l) = listener else {
        std::future::pending::<()>().await;
        return false;
    };
    match l.recv().await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "outbox LISTEN connection lost");
            *listener = None;
            false
        }
    }
}
