//! An SQS queue as an [`Inbox`]: long-polled batches of up to ten; handled messages deleted in
//! one batch call; poison ones made visible again at once so they reach their receive limit,
//! and the queue's dead-letter queue, quickly; the rest left to their visibility timeout.

use aws_sdk_sqs::{
    Client,
    error::DisplayErrorContext,
    types::{DeleteMessageBatchRequestEntry, QueueAttributeName},
};

use crate::workers::{
    BusError,
    consumer::{Delivery, Inbox, Settlement},
};

pub struct SqsInbox {
    client: Client,
    queue_url: String,
    wait_seconds: i32,
    /// The dead-letter queue named by the queue's redrive policy, once looked up.
    dead_letters: tokio::sync::OnceCell<Option<String>>,
}

impl SqsInbox {
    pub fn new(client: Client, queue_url: impl Into<String>, wait_seconds: i32) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            wait_seconds,
            dead_letters: tokio::sync::OnceCell::new(),
        }
    }

    /// The URL of the queue's dead-letter queue, from its redrive policy (`None` without one).
    async fn dead_letter_url(&self) -> Result<Option<String>, BusError> {
        let url = self
            .dead_letters
            .get_or_try_init(|| async {
                let attributes = self
                    .client
                    .get_queue_attributes()
                    .queue_url(&self.queue_url)
                    .attribute_names(QueueAttributeName::RedrivePolicy)
                    .send()
                    .await
                    .map_err(|e| format!("sqs attributes: {}", DisplayErrorContext(&e)))?;
                let Some(policy) = attributes
                    .attributes()
                    .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
                else {
                    return Ok::<_, BusError>(None);
                };
                let arn = serde_json::from_str::<serde_json::Value>(policy)
                    .ok()
                    .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string));
                let Some(name) = arn.as_deref().and_then(|a| a.rsplit(':').next()) else {
                    return Ok(None);
                };
                let found = self
                    .client
                    .get_queue_url()
                    .queue_name(name)
                    .send()
                    .await
                    .map_err(|e| format!("sqs dead-letter queue: {}", DisplayErrorContext(&e)))?;
                Ok(found.queue_url().map(str::to_string))
            })
            .await?;
        Ok(url.clone())
    }
}

/// An SQS receipt handle.
struct Receipt(Option<String>);

#[async_trait::async_trait]
impl Inbox for SqsInbox {
    async fn receive(&self) -> Result<Vec<Delivery>, BusError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(self.wait_seconds)
            .send()
            .await
            .map_err(|e| format!("sqs receive: {}", DisplayErrorContext(&e)))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| Delivery {
                id: m.message_id().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().as_bytes().to_vec(),
                receipt: Box::new(Receipt(m.receipt_handle().map(str::to_string))),
            })
            .collect())
    }

    async fn settle(&self, batch: Vec<(Delivery, Settlement)>) -> Result<(), BusError> {
        let mut done = Vec::new();
        for (i, (delivery, settlement)) in batch.into_iter().enumerate() {
            let Some(Receipt(Some(handle))) = delivery.receipt.downcast_ref::<Receipt>() else {
                continue;
            };
            match settlement {
                Settlement::Done => done.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| e.to_string())?,
                ),
                Settlement::Retry => {}
                Settlement::Poison => {
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
        if !done.is_empty() {
            self.client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(|e| format!("sqs delete: {}", DisplayErrorContext(&e)))?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| BusError(DisplayErrorContext(&e).to_string()))
    }

    async fn dead_letter_depth(&self) -> Result<Option<u64>, BusError> {
        let Some(url) = self.dead_letter_url().await? else {
            return Ok(None);
        };
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| format!("sqs attributes: {}", DisplayErrorContext(&e)))?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse().ok()))
    }
}
