//! HTTP surface: GraphQL (POST, GET, WebSocket on `/graphql`), GraphiQL, the web client,
//! product images, the original REST endpoints, health, and the local issuer's JWKS.

mod assets;
mod graphql;
mod health;
pub use health::Probe;
mod images;
pub mod metrics;
pub use images::{ImageObject, ImageSource};
mod rate_limit;
mod rest;
mod web;

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use mercado_resolvers::{MercadoSchema, Ports, Viewer, inventory::InventoryStore};
use tokio::sync::watch;

use crate::{
    StartupError,
    adapters::auth::{AuthError, TokenVerifier, VerifiedToken},
    app::adapters::Adapters,
    app::config::ServeConfig,
};

/// Largest request body accepted anywhere (GraphQL documents, REST bodies).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    schema: MercadoSchema,
    verifier: Arc<TokenVerifier>,
    inventory: Arc<dyn InventoryStore>,
    images: Arc<dyn ImageSource>,
    readiness: Arc<health::Readiness>,
    rest_require_token: bool,
    limits: Arc<graphql::RequestLimits>,
    sockets: Arc<graphql::SocketLimits>,
    /// Turns true when the server begins shutting down (WebSockets then close with 1001).
    shutdown: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(
        adapters: &Adapters,
        config: &ServeConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartupError> {
        Self::over(
            adapters.ports.clone(),
            adapters.verifier.clone(),
            adapters.image_source.clone(),
            adapters.probes.clone(),
            config,
            shutdown,
        )
    }

    /// The state over any ports (`new` passes the server's adapters; a benchmark serves
    /// in-memory ones through the same router).
    pub fn over(
        ports: Ports,
        verifier: Arc<TokenVerifier>,
        images: Arc<dyn ImageSource>,
        probes: Vec<(&'static str, Probe)>,
        config: &ServeConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartupError> {
        let edge = &config.edge;
        Ok(Self {
            inventory: ports.inventory.clone(),
            schema: mercado_resolvers::build_schema(ports, edge.guard()?, config.read_wait()),
            verifier,
            images,
            readiness: Arc::new(health::Readiness::new(probes)),
            rest_require_token: config.rest_require_token,
            limits: Arc::new(graphql::RequestLimits {
                max_batch: edge.max_batch,
                per_address: rate_limit::RateLimiter::new(
                    edge.rate_per_address,
                    edge.address_burst,
                ),
                per_user: rate_limit::RateLimiter::new(edge.rate_per_user, edge.user_burst),
            }),
            sockets: Arc::new(graphql::SocketLimits::new(
                Duration::from_millis(edge.ws_init_timeout_ms),
                edge.ws_max_subscriptions,
                edge.ws_max_connections_per_address,
                edge.ws_max_message_bytes,
            )),
            shutdown,
        })
    }
}

/// Every route; the web client built into `web_root` answers whatever no API route does.
pub fn router(state: AppState, web_root: &std::path::Path) -> Router {
    Router::new()
        .route("/graphql", post(graphql::post).get(graphql::get))
        .route("/graphiql", get(assets::graphiql))
        .route("/graphiql/vendor/{file}", get(assets::vendor))
        .route("/images/{*key}", get(images::image))
        .route("/api/inventory", get(rest::list))
        .route("/api/inventory/create", post(rest::create))
        .merge(health_routes())
        .route("/.well-known/jwks.json", get(jwks))
        .merge(web::client(web_root))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one HTTP request: it continues a caller's W3C `traceparent`, and every log
/// line within it carries the trace id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("web client", |p| p.as_str());
    let span = tracing::info_span!(
        "http request",
        otel.name = %format_args!("{} {route}", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
        trace_id = tracing::field::Empty,
    );
    let parent = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    mercado_resolvers::telemetry::continue_trace(&span, parent);
    span
}

/// Health alone, for a process that runs no API (`MERCADO_MODULES` without `api`): what an
/// orchestrator probes.
pub fn health_router(probes: Vec<(&'static str, Probe)>) -> Router {
    health_routes().with_state(Arc::new(health::Readiness::new(probes)))
}

/// `/healthz` and `/readyz`, over any state that holds the readiness probes.
fn health_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<health::Readiness>: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}

/// The raw token and what it proves, from an `Authorization: Bearer` header: `None` without a
/// header, an error for any header that does not carry a valid token.
async fn bearer_token(
    headers: &HeaderMap,
    verifier: &TokenVerifier,
) -> Result<Option<(String, VerifiedToken)>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed("Authorization is not ASCII".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| AuthError::Malformed("Authorization must be `Bearer <token>`".into()))?;
    let token = token.trim();
    let verified = verifier.verify(token).await?;
    Ok(Some((token.to_string(), verified)))
}

/// The caller behind an `Authorization: Bearer` header (see [`bearer_token`]).
async fn bearer_viewer(
    headers: &HeaderMap,
    verifier: &TokenVerifier,
) -> Result<Option<Viewer>, AuthError> {
    Ok(bearer_token(headers, verifier)
        .await?
        .map(|(_, t)| t.viewer))
}

/// The local issuer's public keys, so other services (and tests) can verify its tokens.
async fn jwks(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.verifier.local_issuer() {
        Some(issuer) => (
            StatusCode::OK,
            Json(serde_json::to_value(issuer.jwks()).unwrap_or_default()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
