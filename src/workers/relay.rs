//! The outbox relay: claims unpublished events (several relays share the work: a claimed row
//! is skipped by the others), publishes them, and marks them published. Woken when a write
//! commits, with a polling fallback in case a wake-up is missed.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use mercado_resolvers::StoreError;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{BusError, Shutdown, stopped};
use crate::events::EventEnvelope;

/// Sends events onward (a bus). Delivery is at least once: a publish that fails is retried by
/// the relay later, and one that succeeded may be repeated after a crash.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes `events`, returning one outcome per event, in order, so that only the failed
    /// ones are retried.
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), BusError>>;

    /// Checks the bus answers (readiness).
    async fn ping(&self) -> Result<(), BusError>;
}

/// Where events wait to leave (PostgreSQL's outbox table in the server).
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` unpublished events, oldest first; other relays skip them until the
    /// claim is finished (or dropped, which releases it unpublished).
    async fn claim(&self, limit: u32) -> Result<Box<dyn OutboxClaim>, StoreError>;

    /// Fires when a write commits new events.
    fn wakeups(&self) -> broadcast::Receiver<()>;
}

/// A claimed batch of events.
#[async_trait]
pub trait OutboxClaim: Send {
    fn events(&self) -> &[EventEnvelope];

    /// Marks `published` as sent, records `failed` with their errors, and releases the claim.
    async fn finish(
        self: Box<Self>,
        published: &[Uuid],
        failed: &[(Uuid, String)],
    ) -> Result<(), StoreError>;
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub claimed: usize,
    pub published: usize,
    pub failed: usize,
}

/// Relays one batch of at most `limit` events.
pub async fn relay_once(
    outbox: &dyn Outbox,
    publisher: &dyn Publisher,
    limit: u32,
) -> Result<RelayReport, StoreError> {
    let claim = outbox.claim(limit).await?;
    if claim.events().is_empty() {
        claim.finish(&[], &[]).await?;
        return Ok(RelayReport::default());
    }
    let outcomes = publisher.publish(claim.events()).await;
    let mut published: Vec<Uuid> = Vec::with_capacity(claim.events().len());
    let mut failed: Vec<(Uuid, String)> = Vec::new();
    for (event, outcome) in claim.events().iter().zip(outcomes) {
        match outcome {
            Ok(()) => published.push(event.id),
            Err(why) => {
                tracing::warn!(event_id = %event.id, error = %why, "publish failed; will retry");
                failed.push((event.id, why.to_string()));
            }
        }
    }
    let report = RelayReport {
        claimed: claim.events().len(),
        published: published.len(),
        failed: failed.len(),
    };
    claim.finish(&published, &failed).await?;
    Ok(report)
}

/// Relays until shutdown: drains the outbox whenever a write commits or `poll` elapses.
pub async fn run(
    outbox: Arc<dyn Outbox>,
    publisher: Arc<dyn Publisher>,
    limit: u32,
    poll: Duration,
    mut shutdown: Shutdown,
) {
    let mut wakeups = outbox.wakeups();
    loop {
        // Drain: keep going while batches come back full and clean.
        loop {
            match relay_once(outbox.as_ref(), publisher.as_ref(), limit).await {
                Ok(r) if r.claimed == limit as usize && r.failed == 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "relay batch failed");
                    break;
                }
            }
        }
        let woken = async {
            if let Err(RecvError::Closed) = wakeups.recv().await {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = woken => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}
