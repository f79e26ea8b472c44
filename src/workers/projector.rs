//! The projector: applies events to the read model. Idempotent and order-tolerant: the catalog
//! accepts a document only when its version is newer than the one it holds.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use mercado_resolvers::{StoreError, inventory::Product, telemetry};
use tracing::Instrument;
use uuid::Uuid;

use super::consumer::{HandleError, MessageHandler};
use crate::events::{EventEnvelope, PRODUCT_DELETED, PRODUCT_UPSERTED};

/// What a conditional read-model write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Applied,
    /// The read model already holds this version or a newer one: nothing changed.
    Stale,
}

/// One item of a read model as a scan finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelItem {
    pub id: String,
    pub version: i64,
    /// A tombstone: the product is gone at `version`.
    pub deleted: bool,
    /// [`digest`] of the document the item holds, when the model can tell: `None` for
    /// tombstones and for models that keep no readable copy; an item whose stored parts
    /// disagree with its document gets a digest no document has.
    pub digest: Option<String>,
}

/// The content of a product's document, for comparing a read model's copy with the source:
/// SHA-256 of its JSON (fields in declaration order, so equal documents serialize alike).
pub fn digest(product: &Product) -> String {
    let json = serde_json::to_vec(product).unwrap_or_default();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &json)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The read model as the projector and the reconciler write it (the DynamoDB catalog and the
/// search index in the server). Every write is conditional: upserts and tombstones apply only
/// over a missing item or an older version, so duplicates and reordering change nothing.
#[async_trait]
pub trait ReadModel: Send + Sync {
    /// Writes the product's whole document.
    async fn upsert(&self, product: &Product) -> Result<Upsert, StoreError>;

    /// Writes a tombstone: the product is gone at `version` (a late upsert cannot revive it).
    async fn tombstone(&self, id: Uuid, version: i64) -> Result<Upsert, StoreError>;

    /// Rewrites the item of `product.version` with the document (repairing content that drifted
    /// at the same version); `Stale` when the model holds another version by now.
    async fn rewrite(&self, product: &Product) -> Result<Upsert, StoreError>;

    /// Every item, with its content digest where the model can tell it.
    async fn scan(&self) -> Result<Vec<ModelItem>, StoreError>;
}

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
    /// Names the read model in spans and metrics (`catalog`, `search`).
    model: &'static str,
    catalog: Arc<dyn ReadModel>,
}

impl Projector {
    pub fn new(model: &'static str, catalog: Arc<dyn ReadModel>) -> Self {
        Self { model, catalog }
    }

    /// Projects one event, in a span that continues the trace of the write that made it.
    pub async fn project(&self, event: &EventEnvelope) -> Result<Projected, ProjectError> {
        let span = tracing::info_span!(
            "project",
            otel.name = %format_args!("project {} {}", self.model, event.event_type),
            otel.kind = "consumer",
            messaging.operation.type = "process",
            mercado.read_model = self.model,
            mercado.event_id = %event.id,
            mercado.outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        telemetry::continue_trace(&span, event.traceparent.as_deref());
        let outcome = self.apply(event).instrument(span.clone()).await;
        match &outcome {
            Ok(o) => span.record("mercado.outcome", tracing::field::debug(o)),
            Err(_) => span.record("otel.status_code", "ERROR"),
        };
        outcome
    }

    async fn apply(&self, event: &EventEnvelope) -> Result<Projected, ProjectError> {
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
        let lag = Utc::now() - event.occurred_at;
        let lag_ms = lag.num_milliseconds();
        if outcome == Projected::Applied {
            telemetry::metrics().projected(self.model, lag.to_std().unwrap_or_default());
        }
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

impl From<ProjectError> for HandleError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Malformed { .. } => Self::Poison(e.to_string()),
            ProjectError::Unavailable(_) => Self::Transient(e.to_string()),
        }
    }
}

/// An envelope as it arrives: bare (JetStream, in-process) or as the `detail` of an
/// EventBridge event (SQS behind the EventBridge rule).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Arrival {
    EventBridge { detail: EventEnvelope },
    Bare(EventEnvelope),
}

#[async_trait]
impl MessageHandler for Projector {
    async fn handle(&self, body: &[u8]) -> Result<(), HandleError> {
        let event = match serde_json::from_slice::<Arrival>(body) {
            Ok(Arrival::EventBridge { detail }) => detail,
            Ok(Arrival::Bare(event)) => event,
            Err(e) => {
                return Err(HandleError::Poison(format!(
                    "not a mercado envelope (bare or in an EventBridge event): {e}"
                )));
            }
        };
        self.project(&event).await?;
        Ok(())
    }
}
