//! Amazon EventBridge: `PutEvents` onto a bus whose rule targets the projector's SQS queue.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::{Client, error::DisplayErrorContext, types::PutEventsRequestEntry};

use crate::{StartupError, events::EventEnvelope, workers::relay::Publisher};

/// `PutEvents` accepts at most 10 entries per call...
pub const PUT_EVENTS_MAX_ENTRIES: usize = 10;
/// ...and at most 256 KB per call (entry size as AWS counts it: source, type, detail, bus).
const PUT_EVENTS_MAX_BYTES: usize = 256 * 1024;
/// Attempts per entry within one publish; the relay retries later whatever still fails.
const ATTEMPTS: u32 = 3;

pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
}

struct Pending {
    index: usize,
    entry: PutEventsRequestEntry,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    fn entry(&self, event: &EventEnvelope) -> Result<(PutEventsRequestEntry, usize), String> {
        let detail = serde_json::to_string(event).map_err(|e| e.to_string())?;
        let source = event.source();
        let size = detail.len() + source.len() + event.event_type.len() + self.bus_name.len();
        if size > PUT_EVENTS_MAX_BYTES {
            return Err(format!("event {} is {size} bytes, over 256 KB", event.id));
        }
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(source)
            .detail_type(&event.event_type)
            .detail(detail)
            .build();
        Ok((entry, size))
    }

    /// Sends one chunk (≤10 entries, ≤256 KB), retrying only the entries that failed.
    async fn put_chunk(&self, mut pending: Vec<Pending>, outcomes: &mut [Result<(), String>]) {
        for attempt in 1..=ATTEMPTS {
            let result = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|p| p.entry.clone()).collect()))
                .send()
                .await;
            let failed: Vec<(Pending, String)> = match result {
                Ok(out) => {
                    let results = out.entries();
                    pending
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, p)| match results.get(i) {
                            Some(r) if r.error_code().is_none() => {
                                outcomes[p.index] = Ok(());
                                None
                            }
                            Some(r) => {
                                let why = format!(
                                    "{}: {}",
                                    r.error_code().unwrap_or_default(),
                                    r.error_message().unwrap_or_default()
                                );
                                Some((p, why))
                            }
                            None => Some((p, "no result entry".to_string())),
                        })
                        .collect()
                }
                Err(e) => {
                    let why = format!("put_events: {}", DisplayErrorContext(&e));
                    pending.into_iter().map(|p| (p, why.clone())).collect()
                }
            };
            if failed.is_empty() {
                return;
            }
            pending = Vec::with_capacity(failed.len());
            for (p, why) in failed {
                outcomes[p.index] = Err(why);
                pending.push(p);
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
        }
    }
}

#[async_trait]
impl Publisher for EventBridgePublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), String>> {
        let mut outcomes: Vec<Result<(), String>> =
            vec![Err("not attempted".to_string()); events.len()];
        let mut chunk: Vec<Pending> = Vec::new();
        let mut chunk_bytes = 0;
        for (index, event) in events.iter().enumerate() {
            let (entry, size) = match self.entry(event) {
                Ok(e) => e,
                Err(why) => {
                    outcomes[index] = Err(why);
                    continue;
                }
            };
            if chunk.len() == PUT_EVENTS_MAX_ENTRIES || chunk_bytes + size > PUT_EVENTS_MAX_BYTES {
                self.put_chunk(std::mem::take(&mut chunk), &mut outcomes)
                    .await;
                chunk_bytes = 0;
            }
            chunk_bytes += size;
            chunk.push(Pending { index, entry });
        }
        if !chunk.is_empty() {
            self.put_chunk(chunk, &mut outcomes).await;
        }
        outcomes
    }

    async fn ping(&self) -> Result<(), String> {
        self.client
            .describe_event_bus()
            .name(&self.bus_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}

/// Creates (idempotently) the bus, the projector's queue and the rule routing mercado's events
/// from the bus to the queue. Returns the queue's ARN.
pub async fn provision_event_route(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus_name: &str,
    queue_url: &str,
    max_receives: i64,
) -> Result<String, StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("{what}: {e}"));
    let queue_name = queue_name(queue_url)?;

    match events.create_event_bus().name(bus_name).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(aws("create event bus", DisplayErrorContext(&e).to_string())),
    }

    let rule_name = format!("{bus_name}-to-{queue_name}");
    let rule_arn = format!("arn:aws:events:*:*:rule/{bus_name}/{bus_name}-to-{queue_name}");
    let (main_url, queue_arn) =
        ensure_queue(sqs, queue_url, "events.amazonaws.com", &rule_arn).await?;
    // Messages that fail `max_receives` times end in `<queue>-dlq`, not in an endless loop.
    let dlq_url = format!("{}-dlq", queue_url.trim_end_matches('/'));
    let (_, dlq_arn) = ensure_queue(sqs, &dlq_url, "sqs.amazonaws.com", &queue_arn).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receives.to_string(),
    });
    sqs.set_queue_attributes()
        .queue_url(&main_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )
        .send()
        .await
        .map_err(|e| aws("redrive policy", DisplayErrorContext(&e).to_string()))?;
    let rule = events
        .put_rule()
        .name(&rule_name)
        .event_bus_name(bus_name)
        .event_pattern(r#"{"source":[{"prefix":"mercado."}]}"#)
        .send()
        .await
        .map_err(|e| aws("put rule", DisplayErrorContext(&e).to_string()))?;

    tracing::debug!(
        rule = rule.rule_arn().unwrap_or_default(),
        "event rule in place"
    );
    events
        .put_targets()
        .rule(&rule_name)
        .event_bus_name(bus_name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("projector-queue")
                .arn(&queue_arn)
                .build()
                .map_err(|e| aws("target", e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| aws("put targets", DisplayErrorContext(&e).to_string()))?;
    Ok(queue_arn)
}

/// Creates the queue named by the URL's last segment (idempotent) with a policy letting
/// `service` send from `source_arn`; returns the queue's URL and ARN. Local servers ignore the
/// policy; AWS needs it.
pub async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    service: &str,
    source_arn: &str,
) -> Result<(String, String), StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("{what}: {e}"));
    let queue_name = queue_name(queue_url)?;
    let created = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await
        .map_err(|e| aws("create queue", DisplayErrorContext(&e).to_string()))?;
    let url = created.queue_url().unwrap_or(queue_url).to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws("queue attributes", DisplayErrorContext(&e).to_string()))?;
    let queue_arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| aws("queue attributes", "no QueueArn".into()))?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": source_arn}}
        }]
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .map_err(|e| aws("queue policy", DisplayErrorContext(&e).to_string()))?;
    Ok((url, queue_arn))
}

/// The queue name: a queue URL's last path segment.
fn queue_name(queue_url: &str) -> Result<&str, StartupError> {
    queue_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| StartupError::Config(format!("no queue name in the queue URL {queue_url}")))
}
