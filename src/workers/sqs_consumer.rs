//! Reads an SQS queue and hands each message to a [`MessageHandler`]: the projector (behind the
//! EventBridge rule) or the image-events handler (behind the S3 notification). A message is
//! deleted only after its handler succeeded; anything else is left for SQS to redeliver after
//! its visibility timeout.

use std::sync::Arc;

use aws_sdk_sqs::{Client, error::DisplayErrorContext, types::DeleteMessageBatchRequestEntry};
use serde::Deserialize;

use super::{
    Consume, ConsumeReport,
    projector::{ProjectError, Projector},
};
use crate::events::EventEnvelope;

/// Why a message was not handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// It can never succeed (malformed): hasten it to the dead-letter queue.
    #[error("poison: {0}")]
    Poison(String),
    /// A dependency failed: let it come back after its visibility timeout.
    #[error("{0}")]
    Transient(String),
}

impl From<ProjectError> for HandleError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Malformed { .. } => Self::Poison(e.to_string()),
            ProjectError::Unavailable(_) => Self::Transient(e.to_string()),
        }
    }
}

/// What a consumer does with one message body.
#[async_trait::async_trait]
pub trait MessageHandler: Send + Sync {
    /// `Ok` deletes the message; an error leaves it for redelivery (and, after the queue's
    /// maximum receives, for the dead-letter queue).
    async fn handle(&self, body: &str) -> Result<(), HandleError>;
}

/// The part of an EventBridge event delivered to SQS that we read.
#[derive(Deserialize)]
struct EventBridgeEvent {
    detail: EventEnvelope,
}

/// EventBridge events → the projector.
#[async_trait::async_trait]
impl MessageHandler for Projector {
    async fn handle(&self, body: &str) -> Result<(), HandleError> {
        let event = serde_json::from_str::<EventBridgeEvent>(body).map_err(|e| {
            HandleError::Poison(format!(
                "not an EventBridge event with a mercado envelope: {e}"
            ))
        })?;
        self.project(&event.detail).await?;
        Ok(())
    }
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
}

#[async_trait::async_trait]
impl Consume for SqsConsumer {
    /// Receives one batch (long poll, up to 10 messages), handles each, deletes the successes.
    async fn consume_once(&self) -> Result<ConsumeReport, String> {
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
                Err(HandleError::Transient(e)) => {
                    report.failed += 1;
                    tracing::warn!(%message_id, error = %e, "message not handled; left for redelivery");
                }
                Err(HandleError::Poison(e)) => {
                    report.failed += 1;
                    tracing::error!(%message_id, error = %e, "poison message; it goes to the dead-letter queue after its last receive");
                    // Visible again at once: it reaches its receive limit, and the DLQ, quickly.
                    if let Some(handle) = message.receipt_handle() {
                        let _ = self
                            .client
                            .change_message_visibility()
                            .queue_url(&self.queue_url)
                            .receipt_handle(handle)
                            .visibility_timeout(0)
                            .send()
                            .await;
                    }
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
    async fn ping(&self) -> Result<(), String> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}
