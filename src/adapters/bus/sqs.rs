//! An SQS queue as an [`Inbox`]: long-polled batches of up to ten; handled messages deleted in
//! one batch call; poison ones made visible again at once so they reach their receive limit,
//! and the queue's dead-letter queue, quickly; the rest left to their visibility timeout.

use aws_sdk_sqs::{Client, error::DisplayErrorContext, types::DeleteMessageBatchRequestEntry};

use crate::workers::{
    BusError,
    consumer::{Delivery, Inbox, Settlement},
};

pub struct SqsInbox {
    client: Client,
    queue_url: String,
    wait_seconds: i32,
}

impl SqsInbox {
    pub fn new(client: Client, queue_url: impl Into<String>, wait_seconds: i32) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            wait_seconds,
        }
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
}
