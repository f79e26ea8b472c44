//! Background workloads. Each has a single-step function (one batch, one message) that tests
//! drive directly; the `run` loops only wrap those steps with waiting and shutdown. Each
//! declares the ports it needs (`relay::{Outbox, Publisher}`, `consumer::{Inbox,
//! MessageHandler}`, `projector::ReadModel`, `reconciler::{DocumentSource, Exclusive}`); the
//! adapters implement them, and nothing here imports an adapter.

pub mod consumer;
pub mod image_events;
pub mod projector;
pub mod reconciler;
pub mod relay;
pub mod saga;

/// A bus or queue did not do what was asked; the caller retries later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BusError(pub String);

impl From<String> for BusError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// Signals loops to stop; `true` means stop.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// Waits until shutdown is signalled (or its sender is gone).
pub async fn stopped(shutdown: &mut Shutdown) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
