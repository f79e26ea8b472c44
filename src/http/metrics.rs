//! `/metrics`: every metric in Prometheus/OpenMetrics text. The gauges that describe stored
//! state are sampled first (a failed sample leaves them at their last value and is logged).

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use futures::future::BoxFuture;

/// Sets the gauges of stored state (outbox, orders, pool, dead letters) before a scrape.
pub type Sampler = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// A scrape waits this long for the sample, then answers with what it has.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// `/metrics` alone, over its own state (merged into the API's router, the health router, or
/// served on `MERCADO_METRICS_ADDR`).
pub fn router(sampler: Sampler) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(sampler)
}

async fn metrics(State(sampler): State<Sampler>) -> impl IntoResponse {
    match tokio::time::timeout(SAMPLE_TIMEOUT, sampler()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics sample failed"),
        Err(_) => tracing::warn!("metrics sample timed out"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        mercado_resolvers::telemetry::metrics().encode(),
    )
}
