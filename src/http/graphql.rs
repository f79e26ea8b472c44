//! GraphQL over HTTP and WebSocket, all on `/graphql`.
//!
//! Handled here rather than by async-graphql-axum's extractors so that: GET accepts the
//! standard `operationName` parameter (the extractor reads `operation_name`), GET never runs a
//! mutation, bodies are bounded, multipart uploads are refused (images go straight to S3), and a
//! bad token is an error before anything executes.

use std::{
    collections::HashMap,
    net::SocketAddr,
    str::FromStr,
    sync::{Arc, Mutex},
};

use async_graphql::{
    BatchRequest, Data, Request, Variables,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as GqlWebSocket, WebSocketProtocols, WsMessage},
    parser::{
        parse_query,
        types::{DocumentOperations, OperationType},
    },
};
use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{
        ConnectInfo, FromRequestParts, Query, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, Request as HttpRequest, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use mercado_resolvers::{MercadoSchema, auth::ClientAddr, viewer::BearerToken};
use serde_json::json;

use super::{AppState, MAX_BODY_BYTES, bearer_token};
use crate::auth::{TokenVerifier, VerifiedToken};

/// graphql-transport-ws close code for a refused or expired credential ("Forbidden").
const CLOSE_FORBIDDEN: u16 = 4403;
/// Marks connection-init failures that are about the token, so they close with 4403.
const AUTH_FAILURE: &str = "UNAUTHENTICATED: ";

/// A GraphQL-shaped error response for failures before execution.
fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"errors": [{"message": message.into(), "extensions": {"code": code}}]});
    (status, Json(body)).into_response()
}

/// Who is asking, for execution: the verified caller (or none), their raw token, their address.
struct Caller {
    addr: ClientAddr,
    token: Option<(String, VerifiedToken)>,
}

impl Caller {
    async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<Self, Response> {
        let token = bearer_token(headers, &state.verifier).await.map_err(|e| {
            error_response(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string())
        })?;
        Ok(Self {
            addr: ClientAddr(peer.ip()),
            token,
        })
    }

    fn attach(&self, request: Request) -> Request {
        let request = request.data(self.addr);
        match &self.token {
            Some((raw, verified)) => request
                .data(Some(verified.viewer.clone()))
                .data(BearerToken(raw.clone())),
            None => request.data(None::<mercado_resolvers::Viewer>),
        }
    }
}

pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let caller = match Caller::from_headers(&state, &headers, peer).await {
        Ok(c) => c,
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
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(caller.attach(r)),
        BatchRequest::Batch(list) => {
            BatchRequest::Batch(list.into_iter().map(|r| caller.attach(r)).collect())
        }
    };
    let response = state.schema.execute_batch(batch).await;
    Json(response).into_response()
}

pub async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: HttpRequest<Body>,
) -> Response {
    let (mut parts, _) = request.into_parts();
    if parts.headers.contains_key(header::UPGRADE) {
        return websocket(state, &mut parts).await;
    }
    let caller = match Caller::from_headers(&state, &parts.headers, peer).await {
        Ok(c) => c,
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
    Json(state.schema.execute(caller.attach(request)).await).into_response()
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
/// payload as `Authorization: "Bearer …"` (or `token`). A bad token closes the socket with
/// 4403; so does the token's expiry, so a subscription never outlives its credential.
async fn websocket(state: AppState, parts: &mut axum::http::request::Parts) -> Response {
    let protocol = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let schema = state.schema.clone();
    let verifier = state.verifier.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve_socket(socket, schema, protocol, verifier))
}

async fn serve_socket(
    socket: WebSocket,
    schema: MercadoSchema,
    protocol: WebSocketProtocols,
    verifier: Arc<TokenVerifier>,
) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|m| futures::future::ready(m.is_ok()))
        .filter_map(|m| async move {
            match m {
                Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            }
        });
    // Set once connection_init has verified a token: when the socket must close.
    let expires_at: Arc<Mutex<Option<i64>>> = Arc::default();
    let expiry = expires_at.clone();
    let output =
        GqlWebSocket::new(schema, input, protocol).on_connection_init(move |payload| async move {
            let mut data = Data::default();
            match connection_token(&payload) {
                None => data.insert(None::<mercado_resolvers::Viewer>),
                Some(token) => {
                    let VerifiedToken { viewer, expires_at } = verifier
                        .verify(&token)
                        .await
                        .map_err(|e| async_graphql::Error::new(format!("{AUTH_FAILURE}{e}")))?;
                    if let Ok(mut slot) = expiry.lock() {
                        *slot = Some(expires_at);
                    }
                    data.insert(Some(viewer));
                    data.insert(BearerToken(token));
                }
            }
            Ok(data)
        });
    let mut output = std::pin::pin!(output);
    loop {
        let deadline = expires_at.lock().ok().and_then(|e| *e);
        let expired = async {
            match deadline {
                Some(at) => {
                    let left = at - chrono::Utc::now().timestamp();
                    let left = std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0));
                    tokio::time::sleep(left).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let next = tokio::select! {
            message = output.next() => message,
            () = expired => Some(WsMessage::Close(CLOSE_FORBIDDEN, "Forbidden: token expired".into())),
        };
        let sent = match next {
            Some(WsMessage::Text(text)) => sink.send(Message::Text(text.into())).await,
            Some(WsMessage::Close(code, reason)) => {
                let code = if reason.starts_with(AUTH_FAILURE) {
                    CLOSE_FORBIDDEN
                } else {
                    code
                };
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })))
                    .await;
                break;
            }
            None => break,
        };
        if sent.is_err() {
            break;
        }
    }
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
