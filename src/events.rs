//! The one event envelope every context uses, on every bus.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A product was created or changed; the payload is the whole product document.
pub const PRODUCT_UPSERTED: &str = "inventory.product.upserted";
/// A product was deleted; the payload is `{id, version}`.
pub const PRODUCT_DELETED: &str = "inventory.product.deleted";
/// An order changed status; the payload is `{orderId, status, reason, seq, at}`.
pub const ORDER_STATUS_CHANGED: &str = "purchases.order.status_changed";

/// An event as it leaves the outbox. Delivery is at least once and may be out of order:
/// consumers deduplicate by `id` or, for documents, by `version`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub aggregate_id: Uuid,
    /// Monotonic per aggregate.
    pub version: i64,
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    /// W3C trace context of the span that caused the event (the writing request's in the
    /// outbox, the relay's on the bus), so whoever applies it continues the same trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl EventEnvelope {
    pub fn new(
        event_type: &str,
        aggregate_id: Uuid,
        version: i64,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: event_type.to_string(),
            aggregate_id,
            version,
            occurred_at: Utc::now(),
            payload,
            traceparent: mercado_resolvers::telemetry::current_traceparent(),
        }
    }

    /// EventBridge `Source`: `mercado.<context>`, the context being the type's first segment.
    pub fn source(&self) -> String {
        let context = self.event_type.split('.').next().unwrap_or("unknown");
        format!("mercado.{context}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_the_context() {
        let e = EventEnvelope::new(PRODUCT_UPSERTED, Uuid::nil(), 1, serde_json::json!({}));
        assert_eq!(e.source(), "mercado.inventory");
    }

    #[test]
    fn wire_form_uses_type_not_event_type() {
        let e = EventEnvelope::new(PRODUCT_UPSERTED, Uuid::nil(), 3, serde_json::json!({}));
        let v = serde_json::to_value(&e).expect("serializes");
        assert_eq!(v["type"], PRODUCT_UPSERTED);
        assert_eq!(v["version"], 3);
        let back: EventEnvelope = serde_json::from_value(v).expect("parses");
        assert_eq!(back, e);
    }
}
