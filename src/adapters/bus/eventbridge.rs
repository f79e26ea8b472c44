//! Amazon EventBridge: `PutEvents` onto a bus whose rule targets the projector's SQS queue.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::{Client, error::DisplayErrorContext, types::PutEventsRequestEntry};

use crate::{
    events::EventEnvelope,
    workers::{BusError, relay::Publisher},
};

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
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), BusError>> {
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
        outcomes.into_iter().map(|o| o.map_err(BusError)).collect()
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.client
            .describe_event_bus()
            .name(&self.bus_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| BusError(DisplayErrorContext(&e).to_string()))
    }
}
