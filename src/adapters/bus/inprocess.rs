//! The embedded default bus: the relay hands each event straight to the consumer's handler
//! (the projector) in this process.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    events::EventEnvelope,
    workers::{BusError, consumer::MessageHandler, relay::Publisher},
};

pub struct InProcessPublisher {
    handler: Arc<dyn MessageHandler>,
}

impl InProcessPublisher {
    pub fn new(handler: Arc<dyn MessageHandler>) -> Self {
        Self { handler }
    }
}

#[async_trait]
impl Publisher for InProcessPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), BusError>> {
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            let outcome = match serde_json::to_vec(event) {
                Ok(body) => self
                    .handler
                    .handle(&body)
                    .await
                    .map_err(|e| BusError(e.to_string())),
                Err(e) => Err(BusError(e.to_string())),
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}
