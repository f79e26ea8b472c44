//! One consumer for every source. An [`Inbox`] (an SQS queue behind EventBridge or S3
//! notifications, a JetStream durable pull consumer) receives deliveries and settles them; a
//! [`MessageHandler`] (the projector, the image-events handler) says what each one means. A
//! delivery is settled `Done` only after its handler succeeded; a poison one is hastened to the
//! source's dead-letter path; the rest come back later.

use std::{any::Any, sync::Arc};

use async_trait::async_trait;
use mercado_resolvers::telemetry;

use super::{BusError, Shutdown, stopped};

/// Why a message was not handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// It can never succeed (malformed): hasten it to the dead-letter path.
    #[error("poison: {0}")]
    Poison(String),
    /// A dependency failed: let it come back later.
    #[error("{0}")]
    Transient(String),
}

/// What a consumer does with one message body.
#[async_trait]
pub trait MessageHandler: Send + Sync {
    async fn handle(&self, body: &[u8]) -> Result<(), HandleError>;
}

/// Hands each message to several handlers in turn (the catalog's projector and the search
/// index's, on the in-process bus). A failure stops there and the message comes again; every
/// handler is idempotent, so the ones that already applied it change nothing the second time.
pub struct Fanout(pub Vec<Arc<dyn MessageHandler>>);

#[async_trait]
impl MessageHandler for Fanout {
    async fn handle(&self, body: &[u8]) -> Result<(), HandleError> {
        for handler in &self.0 {
            handler.handle(body).await?;
        }
        Ok(())
    }
}

/// One received message. `receipt` is the inbox's own handle for settling it.
pub struct Delivery {
    pub id: String,
    pub body: Vec<u8>,
    pub receipt: Box<dyn Any + Send + Sync>,
}

/// How a delivery ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Handled: remove it.
    Done,
    /// Not now: redeliver later.
    Retry,
    /// Never: to the dead-letter path (at once where the source allows).
    Poison,
}

/// Where messages come from.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Waits (a long poll) for a batch; an empty batch is fine.
    async fn receive(&self) -> Result<Vec<Delivery>, BusError>;

    /// Settles a received batch.
    async fn settle(&self, batch: Vec<(Delivery, Settlement)>) -> Result<(), BusError>;

    /// Checks the source answers (readiness).
    async fn ping(&self) -> Result<(), BusError>;

    /// Messages waiting in this source's dead-letter queue, where it has one it can count.
    async fn dead_letter_depth(&self) -> Result<Option<u64>, BusError> {
        Ok(None)
    }
}

/// What one consumer step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeReport {
    pub received: usize,
    pub handled: usize,
    pub failed: usize,
}

pub struct Consumer {
    /// Names it in logs and metrics (`projector`, `search`, `images`).
    name: &'static str,
    inbox: Arc<dyn Inbox>,
    handler: Arc<dyn MessageHandler>,
}

impl Consumer {
    pub fn new(
        name: &'static str,
        inbox: Arc<dyn Inbox>,
        handler: Arc<dyn MessageHandler>,
    ) -> Self {
        Self {
            name,
            inbox,
            handler,
        }
    }

    /// Receives one batch, handles each message, settles the batch.
    pub async fn consume_once(&self) -> Result<ConsumeReport, BusError> {
        let deliveries = self.inbox.receive().await?;
        let mut report = ConsumeReport {
            received: deliveries.len(),
            ..ConsumeReport::default()
        };
        let mut settled = Vec::with_capacity(deliveries.len());
        let (mut retried, mut poisoned) = (0, 0);
        for delivery in deliveries {
            let settlement = match self.handler.handle(&delivery.body).await {
                Ok(()) => {
                    report.handled += 1;
                    Settlement::Done
                }
                Err(HandleError::Transient(e)) => {
                    report.failed += 1;
                    retried += 1;
                    tracing::warn!(consumer = self.name, id = %delivery.id, error = %e, "message not handled; left for redelivery");
                    Settlement::Retry
                }
                Err(HandleError::Poison(e)) => {
                    report.failed += 1;
                    poisoned += 1;
                    tracing::error!(consumer = self.name, id = %delivery.id, error = %e, "poison message; to the dead-letter path");
                    Settlement::Poison
                }
            };
            settled.push((delivery, settlement));
        }
        self.inbox.settle(settled).await?;
        let m = telemetry::metrics();
        m.consumer(self.name, "received", report.received as u64);
        m.consumer(self.name, "acked", report.handled as u64);
        m.consumer(self.name, "retried", retried);
        m.consumer(self.name, "dead_lettered", poisoned);
        Ok(report)
    }

    pub async fn ping(&self) -> Result<(), BusError> {
        self.inbox.ping().await
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub async fn dead_letter_depth(&self) -> Result<Option<u64>, BusError> {
        self.inbox.dead_letter_depth().await
    }
}

/// Consumes until shutdown, backing off a second after a failed step.
pub async fn run(consumer: Arc<Consumer>, mut shutdown: Shutdown) {
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
