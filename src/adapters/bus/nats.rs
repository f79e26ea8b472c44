//! NATS JetStream: the self-hosted bus. Events are published to `<prefix>.<type>` with
//! `Nats-Msg-Id` = the event id (the stream drops duplicates within its window); a durable pull
//! consumer is the projector's [`Inbox`]: acknowledged only once handled, redelivered a bounded
//! number of times, poison messages terminated.

use std::time::Duration;

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, PullConsumer, pull},
    message::PublishMessage,
    stream,
};
use async_trait::async_trait;
use futures::StreamExt;

use crate::{
    StartupError,
    events::EventEnvelope,
    workers::{
        BusError,
        consumer::{Delivery, Inbox, Settlement},
        relay::Publisher,
    },
};

/// How long JetStream remembers message ids for deduplication.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// An unacknowledged message is redelivered after this long.
const ACK_WAIT: Duration = Duration::from_secs(30);

/// Where the stream lives and what it is called.
#[derive(Clone, Debug)]
pub struct NatsSettings {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
    pub consumer: String,
    pub max_deliver: i64,
    pub fetch_wait: Duration,
    /// Deleted by the server after this long without a client: for consumers of one instance
    /// (its search feed), so a gone instance leaves nothing behind.
    pub inactive_threshold: Option<Duration>,
}

pub struct NatsPublisher {
    js: jetstream::Context,
    subject_prefix: String,
    client: async_nats::Client,
}

pub struct NatsInbox {
    consumer: PullConsumer,
    fetch_wait: Duration,
}

/// Connects, and creates the stream (idempotently).
pub async fn connect(
    settings: &NatsSettings,
) -> Result<(async_nats::Client, jetstream::Context, stream::Stream), StartupError> {
    let client = async_nats::connect(&settings.url)
        .await
        .map_err(|e| StartupError::Config(format!("MERCADO_NATS_URL: cannot connect: {e}")))?;
    let js = jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(stream::Config {
            name: settings.stream.clone(),
            subjects: vec![format!("{}.>", settings.subject_prefix)],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| StartupError::Config(format!("MERCADO_NATS_STREAM: {e}")))?;
    Ok((client, js, stream))
}

impl NatsPublisher {
    pub fn new(client: async_nats::Client, js: jetstream::Context, subject_prefix: &str) -> Self {
        Self {
            js,
            subject_prefix: subject_prefix.to_string(),
            client,
        }
    }
}

#[async_trait]
impl Publisher for NatsPublisher {
    #[tracing::instrument(name = "nats.publish", skip_all, fields(messaging.system = "nats", messaging.batch.message_count = events.len()))]
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), BusError>> {
        // Send all, then await the acknowledgements: one round trip for the batch.
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let sent = match serde_json::to_vec(event) {
                Ok(payload) => self
                    .js
                    .send_publish(
                        format!("{}.{}", self.subject_prefix, event.event_type),
                        PublishMessage::build()
                            .payload(payload.into())
                            .message_id(event.id.to_string()),
                    )
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            pending.push(sent);
        }
        let mut outcomes = Vec::with_capacity(pending.len());
        for sent in pending {
            outcomes.push(match sent {
                Ok(ack) => ack.await.map(|_| ()).map_err(|e| BusError(e.to_string())),
                Err(e) => Err(BusError(e)),
            });
        }
        outcomes
    }

    async fn ping(&self) -> Result<(), BusError> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(BusError(format!("nats connection {other:?}"))),
        }
    }
}

impl NatsInbox {
    pub async fn new(
        stream: &stream::Stream,
        settings: &NatsSettings,
    ) -> Result<Self, StartupError> {
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &settings.consumer,
                pull::Config {
                    durable_name: Some(settings.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_deliver: settings.max_deliver,
                    inactive_threshold: settings.inactive_threshold.unwrap_or_default(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| StartupError::Config(format!("MERCADO_NATS_CONSUMER: {e}")))?;
        Ok(Self {
            consumer,
            fetch_wait: settings.fetch_wait,
        })
    }
}

#[async_trait]
impl Inbox for NatsInbox {
    #[tracing::instrument(name = "nats.receive", skip_all, fields(messaging.system = "nats"))]
    async fn receive(&self) -> Result<Vec<Delivery>, BusError> {
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(10)
            .expires(self.fetch_wait)
            .messages()
            .await
            .map_err(|e| format!("nats fetch: {e}"))?;
        let mut deliveries = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| format!("nats message: {e}"))?;
            deliveries.push(Delivery {
                id: message.subject.to_string(),
                body: message.payload.to_vec(),
                receipt: Box::new(message),
            });
        }
        Ok(deliveries)
    }

    async fn settle(&self, batch: Vec<(Delivery, Settlement)>) -> Result<(), BusError> {
        for (delivery, settlement) in batch {
            let Ok(message) = delivery.receipt.downcast::<jetstream::Message>() else {
                continue;
            };
            let ack = match settlement {
                Settlement::Done => AckKind::Ack,
                Settlement::Poison => AckKind::Term,
                Settlement::Retry => AckKind::Nak(Some(Duration::from_secs(1))),
            };
            message
                .ack_with(ack)
                .await
                .map_err(|e| format!("nats ack: {e}"))?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}
