use std::sync::Arc;

use async_trait::async_trait;

use super::Publisher;
use crate::{events::EventEnvelope, workers::projector::Projector};

/// The embedded default: the relay hands each event straight to the projector.
pub struct InProcessPublisher {
    projector: Arc<Projector>,
}

impl InProcessPublisher {
    pub fn new(projector: Arc<Projector>) -> Self {
        Self { projector }
    }
}

#[async_trait]
impl Publisher for InProcessPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), String>> {
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            outcomes.push(
                self.projector
                    .project(event)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            );
        }
        outcomes
    }

    async fn ping(&self) -> Result<(), String> {
        Ok(())
    }
}
