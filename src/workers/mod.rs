//! Background workloads. Each has a single-step function (one batch, one message) that tests
//! drive directly; the `run` loops only wrap those steps with waiting and shutdown.

pub mod image_events;
pub mod projector;
pub mod reconciler;
pub mod relay;
pub mod saga;
pub mod sqs_consumer;

/// What one consumer step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeReport {
    pub received: usize,
    pub projected: usize,
    pub failed: usize,
}

/// A bus consumer (SQS behind EventBridge or S3, or a JetStream pull consumer).
#[async_trait::async_trait]
pub trait Consume: Send + Sync {
    /// Receives one batch and handles each message.
    async fn consume_once(&self) -> Result<ConsumeReport, String>;
    /// Checks the source answers (readiness).
    async fn ping(&self) -> Result<(), String>;
}

/// Consumes until shutdown, backing off a second after a failed step.
pub async fn run_consumer(consumer: std::sync::Arc<dyn Consume>, mut shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            result = consumer.consume_once() => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "consume failed; backing off");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
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
