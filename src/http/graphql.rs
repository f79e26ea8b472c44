//! GraphQL over HTTP and WebSocket, all on `/graphql`.
//!
//! Handled here rather than by async-graphql-axum's extractors so that: GET accepts the
//! standard `operationName` parameter (the extractor reads `operation_name`), GET never runs a
//! mutation, bodies are bounded, multipart uploads are refused (images go straight to S3), and a
//! bad token is an error before anything executes.

use async_graphql::{
    BatchRequest, Data, Request, Variables,
    http::ALL_WEBSOCKET_PROTOCOLS,
    parser::{
        parse_query,
        types::{DocumentOperations, OperationType},
    },
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{FromRequestParts, Query, State, WebSocketUpgrade},
    http::{HeaderMap, Request as HttpRequest, StatusCode, header},
    response::{IntoResponse, Response},
};
use mercado_resolvers::Viewer;
use serde_json::json;
use std::collections::HashMap;

use super::{AppState, MAX_BODY_BYTES, bearer_viewer};

/// A GraphQL-shaped error response for failures before execution.
fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"errors": [{"message": message.into(), "extensions": {"code": code}}]});
    (status, Json(body)).into_response()
}

async fn viewer_or_error(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Viewer>, Response> {
    bearer_viewer(headers, &state.verifier)
        .await
        .map_err(|e| error_response(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string()))
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let viewer = match viewer_or_error(&state, &headers).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/json")
        && !content_type.starts_with("application/graphql-response+json")
    {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "Content-Type must be application/json",
        );
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_REQUEST",
            format!("request body is over {MAX_BODY_BYTES} bytes"),
        );
    };
    let batch: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("body is not a GraphQL request: {e}"),
            );
        }
    };
    let response = state.schema.execute_batch(batch.data(viewer)).await;
    Json(response).into_response()
}

pub async fn get(State(state): State<AppState>, request: HttpRequest<Body>) -> Response {
    let (mut parts, _) = request.into_parts();
    if parts.headers.contains_key(header::UPGRADE) {
        return websocket(state, &mut parts).await;
    }
    let viewer = match viewer_or_error(&state, &parts.headers).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let Ok(Query(params)) =
        Query::<HashMap<String, String>>::from_request_parts(&mut parts, &state).await
    else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "malformed query string",
        );
    };
    let Some(query) = params.get("query") else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "`query` is required",
        );
    };
    let operation_name = params
        .get("operationName")
        .or_else(|| params.get("operation_name"))
        .filter(|n| !n.is_empty());
    if is_mutation(query, operation_name.map(String::as_str)) {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations must use POST",
        );
    }
    let mut request = Request::new(query.as_str());
    if let Some(name) = operation_name {
        request = request.operation_name(name.as_str());
    }
    if let Some(raw) = params.get("variables").filter(|v| !v.is_empty()) {
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(value) => request = request.variables(Variables::from_json(value)),
            Err(e) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    format!("`variables` is not JSON: {e}"),
                );
            }
        }
    }
    Json(state.schema.execute(request.data(viewer)).await).into_response()
}

/// Whether the operation GET would run is a mutation (parse errors are left to execution).
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(doc) = parse_query(query) else {
        return false;
    };
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op.node.ty == OperationType::Mutation,
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get(name)
            .is_some_and(|op| op.node.ty == OperationType::Mutation),
        (DocumentOperations::Multiple(ops), None) => {
            ops.values().any(|op| op.node.ty == OperationType::Mutation)
        }
    }
}

/// graphql-transport-ws (and legacy graphql-ws). The token rides in `connection_init`'s
/// payload as `Authorization: "Bearer …"` (or `token`); a bad one refuses the connection.
async fn websocket(state: AppState, parts: &mut axum::http::request::Parts) -> Response {
    let protocol = match GraphQLProtocol::from_request_parts(parts, &state).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let schema = state.schema.clone();
    let verifier = state.verifier.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let viewer = match connection_token(&payload) {
                        None => None,
                        Some(token) => Some(verifier.verify(&token).await.map_err(|e| {
                            async_graphql::Error::new(format!("UNAUTHENTICATED: {e}"))
                        })?),
                    };
                    let mut data = Data::default();
                    data.insert(viewer);
                    Ok(data)
                })
                .serve()
        })
}

fn connection_token(payload: &serde_json::Value) -> Option<String> {
    let raw = ["Authorization", "authorization", "token"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))?;
    Some(
        raw.strip_prefix("Bearer ")
            .unwrap_or(raw)
            .trim()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_refuses_only_mutations() {
        assert!(is_mutation("mutation { a }", None));
        assert!(!is_mutation("{ a }", None));
        assert!(is_mutation("query Q { a } mutation M { b }", Some("M")));
        assert!(!is_mutation("query Q { a } mutation M { b }", Some("Q")));
        assert!(!is_mutation("not graphql", None));
    }

    #[test]
    fn connection_token_accepts_the_usual_shapes() {
        for payload in [
            json!({"Authorization": "Bearer abc"}),
            json!({"authorization": "Bearer abc"}),
            json!({"token": "abc"}),
        ] {
            assert_eq!(connection_token(&payload).as_deref(), Some("abc"));
        }
        assert_eq!(connection_token(&json!({})), None);
    }
}
