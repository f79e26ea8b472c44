//! Buses: how events leave the outbox. Each implements [`Publisher`]; the relay does not care
//! which one it has.

mod eventbridge;
mod inprocess;
pub mod nats;

use async_trait::async_trait;
pub use eventbridge::{
    EventBridgePublisher, PUT_EVENTS_MAX_ENTRIES, ensure_queue, provision_event_route,
};
pub use inprocess::InProcessPublisher;

use crate::events::EventEnvelope;

/// Sends events onward. Delivery is at least once: a publish that fails is retried by the relay
/// later, and one that succeeded may be repeated after a crash.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes `events`, returning one outcome per event, in order, so that only the failed
    /// ones are retried.
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), String>>;

    /// Checks the bus answers (readiness).
    async fn ping(&self) -> Result<(), String>;
}
