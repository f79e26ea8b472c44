//! Background workloads. Each has a single-step function (one batch, one message) that tests
//! drive directly; the `run` loops only wrap those steps with waiting and shutdown. Each
//! declares the ports it needs (`relay::{Outbox, Publisher}`, `consumer::{Inbox,
//! MessageHandler}`, `projector::ReadModel`, `reconciler::{DocumentSource, Exclusive}`,
//! `Flush`); the
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

/// A read model that batches its writes (the search index): `flush` makes what was written
/// visible, answering whether there was anything to flush.
#[async_trait::async_trait]
pub trait Flush: Send + Sync {
    async fn flush(&self) -> Result<bool, mercado_resolvers::StoreError>;
}

/// Flushes `target` every `interval` until shutdown, then once more.
pub async fn run_flushes(
    target: std::sync::Arc<dyn Flush>,
    interval: std::time::Duration,
    mut shutdown: Shutdown,
) {
    loop {
        let stopping = tokio::select! {
            () = stopped(&mut shutdown) => true,
            () = tokio::time::sleep(interval) => false,
        };
        if let Err(e) = target.flush().await {
            tracing::warn!(error = %e, "flush failed; retrying");
        }
        if stopping {
            return;
        }
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
