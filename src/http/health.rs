//! `/healthz`: the process answers. `/readyz`: every dependency answers, else 503 naming the
//! ones that do not.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use futures::future::{BoxFuture, join_all};
use serde_json::json;

use super::AppState;

impl axum::extract::FromRef<AppState> for std::sync::Arc<Readiness> {
    fn from_ref(state: &AppState) -> Self {
        state.readiness.clone()
    }
}

/// Each dependency gets this long to answer a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency's check: `Ok` when it answers.
pub type Probe = std::sync::Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The dependencies `/readyz` asks, by name; each probe is all it knows of them.
pub struct Readiness {
    probes: Vec<(&'static str, Probe)>,
}

impl Readiness {
    pub fn new(probes: Vec<(&'static str, Probe)>) -> Self {
        Self { probes }
    }

    async fn check(&self) -> Vec<(&'static str, Result<(), String>)> {
        let answers = join_all(self.probes.iter().map(|(_, probe)| timed(probe()))).await;
        self.probes
            .iter()
            .map(|(name, _)| *name)
            .zip(answers)
            .collect()
    }
}

async fn timed(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())))
}

pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(readiness): State<std::sync::Arc<Readiness>>) -> impl IntoResponse {
    let results = readiness.check().await;
    let failing: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(name, _)| *name)
        .collect();
    let checks: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| {
            (
                name.to_string(),
                json!(r.err().unwrap_or_else(|| "ok".into())),
            )
        })
        .collect();
    if failing.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "checks": checks})),
        )
    } else {
        for name in &failing {
            tracing::warn!(dependency = name, detail = %checks[*name], "not ready");
        }
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "failing": failing, "checks": checks})),
        )
    }
}
