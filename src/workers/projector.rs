//! The projector: applies events to the read model. Idempotent and order-tolerant: the catalog
//! accepts a document only when its version is newer than the one it holds.

use chrono::Utc;
use mercado_resolvers::inventory::Product;

use crate::{
    adapters::dynamo::{DynamoCatalog, Upsert},
    events::{EventEnvelope, PRODUCT_DELETED, PRODUCT_UPSERTED},
};

/// What projecting one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    Applied,
    /// Older than (or equal to) what the read model holds: acknowledged, nothing changed.
    Stale,
    /// A type this projector does not handle: acknowledged.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The event can never be applied (bad payload): retrying will not help.
    #[error("malformed event {id}: {reason}")]
    Malformed { id: uuid::Uuid, reason: String },
    /// The read model did not answer: retry later.
    #[error("read model unavailable: {0}")]
    Unavailable(String),
}

pub struct Projector {
    catalog: DynamoCatalog,
}

impl Projector {
    pub fn new(catalog: DynamoCatalog) -> Self {
        Self { catalog }
    }

    /// Projects one event.
    pub async fn project(&self, event: &EventEnvelope) -> Result<Projected, ProjectError> {
        let outcome = match event.event_type.as_str() {
            PRODUCT_UPSERTED => {
                let product: Product =
                    serde_json::from_value(event.payload.clone()).map_err(|e| {
                        ProjectError::Malformed {
                            id: event.id,
                            reason: e.to_string(),
                        }
                    })?;
                if product.id != event.aggregate_id || product.version != event.version {
                    return Err(ProjectError::Malformed {
                        id: event.id,
                        reason: "payload disagrees with the envelope's aggregate id or version"
                            .into(),
                    });
                }
                match self.catalog.upsert(&product).await {
                    Ok(Upsert::Applied) => Projected::Applied,
                    Ok(Upsert::Stale) => Projected::Stale,
                    Err(e) => return Err(ProjectError::Unavailable(e.to_string())),
                }
            }
            PRODUCT_DELETED => match self
                .catalog
                .tombstone(event.aggregate_id, event.version)
                .await
            {
                Ok(Upsert::Applied) => Projected::Applied,
                Ok(Upsert::Stale) => Projected::Stale,
                Err(e) => return Err(ProjectError::Unavailable(e.to_string())),
            },
            _ => Projected::Ignored,
        };
        // Commit-to-visible lag: `occurred_at` is stamped inside the writing transaction.
        let lag_ms = (Utc::now() - event.occurred_at).num_milliseconds();
        tracing::debug!(
            event_id = %event.id,
            event_type = %event.event_type,
            aggregate_id = %event.aggregate_id,
            version = event.version,
            ?outcome,
            lag_ms,
            "projected"
        );
        Ok(outcome)
    }
}
