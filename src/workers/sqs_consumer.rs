//! Reads an SQS queue and hands each message to a [`MessageHandler`]: the projector (behind the
//! EventBridge rule) or the image-events handler (behind the S3 notification). A message is
//! deleted only after its handler succeeded; anything else is left for SQS to redeliver after
//! its visibility timeout.

use std::sync::Arc;

use aws_sdk_sqs::{Client, error::DisplayErrorContext, types::DeleteMessageBatchRequestEntry};
use serde::Deserialize;

use super::{
    Shutdown,
    projector::{ProjectError, Projector},
    stopped,
};
use crate::events::EventEnvelope;

/// What a consumer does with one message body.
#[async_trait::async_trait]
pub trait MessageHandler: Send + Sync {
    /// `Ok` deletes the message; `Err` leaves it for redelivery.
    async fn handle(&self, body: &str) -> Result<(), String>;
}

/// The part of an EventBridge event delivered to SQS that we read.
#[derive(Deserialize)]
struct EventBridgeEvent {
    detail: EventEnvelope,
}

/// EventBridge events → the projector.
#[async_trait::async_trait]
impl MessageHandler for Projector {
    async fn handle(&self, body: &str) -> Result<(), String> {
        let event = serde_json::from_str::<EventBridgeEvent>(body).map_err(|e| {
            ProjectError::Malformed {
                id: uuid::Uuid::nil(),
                reason: format!("not an EventBridge event with a mercado envelope: {e}"),
            }
            .to_string()
        })?;
        self.project(&event.detail)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeReport {
    pub received: usize,
    pub projected: usize,
    pub failed: usize,
}

pub struct SqsConsumer {
    client: Client,
    queue_url: String,
    handler: Arc<dyn MessageHandler>,
    wait_seconds: i32,
}

impl SqsConsumer {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        handler: Arc<dyn MessageHandler>,
        wait_seconds: i32,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            handler,
            wait_seconds,
        }
    }

    /// Receives one batch (long poll, up to 10 messages), handles each, deletes the successes.
    pub async fn consume_once(&self) -> Result<ConsumeReport, String> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(self.wait_seconds)
            .send()
            .await
            .map_err(|e| format!("sqs receive: {}", DisplayErrorContext(&e)))?;
        let messages = out.messages();
        let mut report = ConsumeReport {
            received: messages.len(),
            ..Default::default()
        };
        let mut done = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let message_id = message.message_id().unwrap_or_default();
            let body = message.body().unwrap_or_default();
            match self.handler.handle(body).await {
                Ok(_) => {
                    report.projected += 1;
                    if let Some(handle) = message.receipt_handle() {
                        done.push(
                            DeleteMessageBatchRequestEntry::builder()
                                .id(i.to_string())
                                .receipt_handle(handle)
                                .build()
                                .map_err(|e| e.to_string())?,
                        );
                    }
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(%message_id, error = %e, "message not handled; left for redelivery");
                }
            }
        }
        if !done.is_empty() {
            self.client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(|e| format!("sqs delete: {}", DisplayErrorContext(&e)))?;
        }
        Ok(report)
    }

    /// Checks the queue answers (readiness).
    pub async fn ping(&self) -> Result<(), String> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }

    /// Consumes until shutdown.
    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        loop {
            tokio::select! {
                () = stopped(&mut shutdown) => return,
                result = self.consume_once() => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "sqs consume failed; backing off");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }
}
