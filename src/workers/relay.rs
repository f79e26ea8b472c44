//! The outbox relay: claims unpublished events (several relays share the work: a claimed row
//! is skipped by the others), publishes them, and marks them published. Woken when a write
//! commits, with a polling fallback in case a wake-up is missed.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use mercado_resolvers::{StoreError, telemetry};
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
    let (mut newest, superseded) = coalesce(claim.events());
    // One span per event, in the trace of the write that made it; what is published carries
    // this span as its parent, so the consumer's span continues the same trace.
    let spans: Vec<tracing::Span> = newest
        .iter_mut()
        .map(|event| {
            let span = tracing::info_span!(
                "relay.publish",
                otel.name = %format_args!("publish {}", event.event_type),
                otel.kind = "producer",
                messaging.operation.type = "publish",
                mercado.event_type = %event.event_type,
                mercado.event_id = %event.id,
                trace_id = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            );
            telemetry::continue_trace(&span, event.traceparent.as_deref());
            if let Some(tp) = telemetry::traceparent_of(&span) {
                event.traceparent = Some(tp);
            }
            span
        })
        .collect();
    let outcomes = publisher.publish(&newest).await;
    // A superseded event is done: the newer document that replaces it is published now, or
    // stays in the outbox until it is.
    let mut published: Vec<Uuid> = superseded;
    let mut failed: Vec<(Uuid, String)> = Vec::new();
    for ((event, outcome), span) in newest.iter().zip(outcomes).zip(&spans) {
        match outcome {
            Ok(()) => published.push(event.id),
            Err(why) => {
                span.record("otel.status_code", "ERROR");
                let _in = span.enter();
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
    drop(spans);
    claim.finish(&published, &failed).await?;
    let m = telemetry::metrics();
    m.outbox_published.inc_by(report.published as u64);
    m.outbox_publish_failures.inc_by(report.failed as u64);
    Ok(report)
}

/// The events of a batch worth publishing, in order, and the ids of those they supersede.
/// Product events carry the whole document and every consumer keeps only the newest version,
/// so of several for one product only the newest is sent: under a hot product (every hold and
/// sale re-emits it) this spares the bus and the read model most of their writes. Other
/// events (order status changes) are facts of their own and all go.
fn coalesce(events: &[EventEnvelope]) -> (Vec<EventEnvelope>, Vec<Uuid>) {
    let is_document = |e: &EventEnvelope| {
        e.event_type == crate::events::PRODUCT_UPSERTED
            || e.event_type == crate::events::PRODUCT_DELETED
    };
    let mut newest: std::collections::HashMap<Uuid, (i64, Uuid)> = Default::default();
    for e in events.iter().filter(|e| is_document(e)) {
        let entry = newest.entry(e.aggregate_id).or_insert((e.version, e.id));
        if e.version > entry.0 {
            *entry = (e.version, e.id);
        }
    }
    let (mut kept, mut superseded) = (Vec::with_capacity(events.len()), Vec::new());
    for e in events {
        if is_document(e)
            && newest
                .get(&e.aggregate_id)
                .is_some_and(|(_, id)| *id != e.id)
        {
            superseded.push(e.id);
        } else {
            kept.push(e.clone());
        }
    }
    (kept, superseded)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ORDER_STATUS_CHANGED, PRODUCT_DELETED, PRODUCT_UPSERTED};

    fn event(kind: &str, aggregate: u128, version: i64) -> EventEnvelope {
        EventEnvelope::new(
            kind,
            Uuid::from_u128(aggregate),
            version,
            serde_json::json!({}),
        )
    }

    #[test]
    fn only_the_newest_document_of_each_product_in_a_batch_is_sent_and_order_events_all_go() {
        let batch = [
            event(PRODUCT_UPSERTED, 1, 1),
            event(ORDER_STATUS_CHANGED, 9, 1),
            event(PRODUCT_UPSERTED, 1, 3),
            event(PRODUCT_UPSERTED, 2, 1),
            event(PRODUCT_UPSERTED, 1, 2),
            event(ORDER_STATUS_CHANGED, 9, 2),
            event(PRODUCT_DELETED, 2, 2),
        ];
        let (sent, superseded) = coalesce(&batch);
        let shape: Vec<(&str, u128, i64)> = sent
            .iter()
            .map(|e| (e.event_type.as_str(), e.aggregate_id.as_u128(), e.version))
            .collect();
        assert_eq!(
            shape,
            [
                (ORDER_STATUS_CHANGED, 9, 1),
                (PRODUCT_UPSERTED, 1, 3),
                (ORDER_STATUS_CHANGED, 9, 2),
                (PRODUCT_DELETED, 2, 2),
            ]
        );
        assert_eq!(superseded, [batch[0].id, batch[3].id, batch[4].id]);
    }
}
