//! NATS JetStream: the self-hosted bus. Events are published to `<prefix>.<type>` with
//! `Nats-Msg-Id` = the event id (the stream drops duplicates within its window); a durable pull
//! consumer feeds the projector, acknowledging only after projecting, with bounded redeliveries
//! and poison messages terminated.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, PullConsumer, pull},
    message::PublishMessage,
    stream,
};
use async_trait::async_trait;
use futures::StreamExt;

use super::Publisher;
use crate::{
    StartupError,
    events::EventEnvelope,
    workers::{
        Consume, ConsumeReport,
        projector::{ProjectError, Projector},
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
}

pub struct NatsPublisher {
    js: jetstream::Context,
    subject_prefix: String,
    client: async_nats::Client,
}

pub struct NatsConsumer {
    consumer: PullConsumer,
    projector: Arc<Projector>,
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
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), String>> {
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
                Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            });
        }
        outcomes
    }

    async fn ping(&self) -> Result<(), String> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(format!("nats connection {other:?}")),
        }
    }
}

impl NatsConsumer {
    pub async fn new(
        stream: &stream::Stream,
        settings: &NatsSettings,
        projector: Arc<Projector>,
    ) -> Result<Self, StartupError> {
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &settings.consumer,
                pull::Config {
                    durable_name: Some(settings.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_deliver: settings.max_deliver,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| StartupError::Config(format!("MERCADO_NATS_CONSUMER: {e}")))?;
        Ok(Self {
            consumer,
            projector,
            fetch_wait: settings.fetch_wait,
        })
    }
}

#[async_trait]
impl Consume for NatsConsumer {
    async fn consume_once(&self) -> Result<ConsumeReport, String> {
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(10)
            .expires(self.fetch_wait)
            .messages()
            .await
            .map_err(|e| format!("nats fetch: {e}"))?;
        let mut report = ConsumeReport::default();
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| format!("nats message: {e}"))?;
            report.received += 1;
            let outcome = match serde_json::from_slice::<EventEnvelope>(&message.payload) {
                Ok(event) => self.projector.project(&event).await.map(|_| ()),
                Err(e) => Err(ProjectError::Malformed {
                    id: uuid::Uuid::nil(),
                    reason: format!("not a mercado envelope: {e}"),
                }),
            };
            let ack = match outcome {
                Ok(()) => {
                    report.projected += 1;
                    AckKind::Ack
                }
                Err(e @ ProjectError::Malformed { .. }) => {
                    report.failed += 1;
                    tracing::error!(subject = %message.subject, error = %e, "poison message terminated");
                    AckKind::Term
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(subject = %message.subject, error = %e, "not projected; redelivery later");
                    AckKind::Nak(Some(Duration::from_secs(1)))
                }
            };
            message
                .ack_with(ack)
                .await
                .map_err(|e| format!("nats ack: {e}"))?;
        }
        Ok(report)
    }

    async fn ping(&self) -> Result<(), String> {
        Ok(())
    }
}
