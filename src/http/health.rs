//! `/healthz`: the process answers. `/readyz`: every dependency answers, else 503 naming the
//! ones that do not.

use std::{sync::Arc, time::Duration};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use super::AppState;
use crate::components::Components;

/// Each dependency gets this long to answer a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Readiness {
    components: Arc<Components>,
}

impl Readiness {
    pub fn new(components: Arc<Components>) -> Self {
        Self { components }
    }

    async fn check(&self) -> Vec<(&'static str, Result<(), String>)> {
        let c = &self.components;
        let postgres = async {
            sqlx::query("SELECT 1")
                .execute(&c.pool)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let bus = async {
            c.publisher.ping().await?;
            match &c.consumer {
                Some(consumer) => consumer.ping().await,
                None => Ok(()),
            }
        };
        let (postgres, dynamodb, bus) =
            tokio::join!(timed(postgres), timed(c.catalog.ping()), timed(bus));
        vec![("postgres", postgres), ("dynamodb", dynamodb), ("bus", bus)]
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

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let results = state.readiness.check().await;
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
