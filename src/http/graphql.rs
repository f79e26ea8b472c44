//! GraphQL over HTTP (the GraphQL-over-HTTP spec: `application/graphql-response+json` and
//! legacy `application/json`) and over WebSocket, all on `/graphql`.
//!
//! Handled here rather than by async-graphql-axum's extractors so that: GET accepts the
//! standard `operationName` parameter (the extractor reads `operation_name`), GET never runs a
//! mutation, parameters are checked as the spec says, bodies and batches are bounded, callers
//! are rate limited, multipart uploads are refused (images go straight to S3), and a bad token
//! is an error before anything executes. What a *document* may cost is the edge's business
//! (`mercado_resolvers::edge`), applied on every transport.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{
    Data, Request, Response as GqlResponse, Variables,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as GqlWebSocket, WebSocketProtocols, WsMessage},
};
use axum::{
    body::{Body, to_bytes},
    extract::{
        ConnectInfo, FromRequestParts, Query, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, HeaderValue, Request as HttpRequest, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use mercado_resolvers::{
    MercadoSchema,
    auth::ClientAddr,
    edge::{ReadOnly, codes},
    telemetry::{Live, metrics},
    viewer::BearerToken,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::{AppState, MAX_BODY_BYTES, bearer_token};
use crate::adapters::auth::{TokenVerifier, VerifiedToken};

/// graphql-transport-ws close code for a refused or expired credential ("Forbidden").
const CLOSE_FORBIDDEN: u16 = 4403;
/// graphql-transport-ws close code when `connection_init` does not arrive in time.
const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// WebSocket close code "going away": the server is shutting down.
const CLOSE_GOING_AWAY: u16 = 1001;
/// Marks connection-init failures that are about the token, so they close with 4403.
const AUTH_FAILURE: &str = "UNAUTHENTICATED: ";
const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";
const BATCH_TOO_LARGE: &str = "BATCH_TOO_LARGE";

/// The two response media types of the GraphQL-over-HTTP spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: request errors are 4xx and have no `data`.
    GraphqlResponse,
    /// `application/json`: the legacy type; well-formed GraphQL responses are 200.
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }

    /// The best type the `Accept` header allows (highest q; on a tie the spec's own type);
    /// `application/json` without a header. `None`: nothing acceptable (406).
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Self::Json);
        };
        let mut best: Option<(f32, u8, Self)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let range = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let (rank, media) = match range.as_str() {
                "application/graphql-response+json" => (2, Self::GraphqlResponse),
                "application/json" => (1, Self::Json),
                "application/*" | "*/*" => (0, Self::Json),
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, br, _)| (q, rank) > (bq, br)) {
                best = Some((q, rank, media));
            }
        }
        best.map(|(_, _, media)| media)
    }
}

/// An answer in the negotiated media type.
fn answer(media: Media, status: StatusCode, body: &Value) -> Response {
    answer_text(media, status, body.to_string())
}

fn answer_text(media: Media, status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// A GraphQL-shaped request error (no `data`), answered before anything executes.
struct Reject {
    media: Media,
    status: StatusCode,
    extensions: Value,
    message: String,
    retry_after: Option<u64>,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"message": self.message, "extensions": self.extensions}]});
        let mut response = answer(self.media, self.status, &body);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn refuse(media: Media, status: StatusCode, code: &str, message: impl Into<String>) -> Reject {
    refuse_with(media, status, json!({"code": code}), message)
}

fn refuse_with(
    media: Media,
    status: StatusCode,
    extensions: Value,
    message: impl Into<String>,
) -> Reject {
    Reject {
        media,
        status,
        extensions,
        message: message.into(),
        retry_after: None,
    }
}

fn bad_param(media: Media, field: &str, message: &str) -> Reject {
    refuse_with(
        media,
        StatusCode::BAD_REQUEST,
        json!({"code": codes::BAD_REQUEST, "field": field}),
        format!("{field}: {message}"),
    )
}

/// A response with no `data` whose errors carry no path never started executing: a request
/// error in the spec's terms (parse, validation, variable coercion, a refusal at the edge).
fn is_request_error(response: &GqlResponse) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The HTTP status the edge's refusal codes map to, whatever the media type.
fn status_for_code(code: &str) -> Option<StatusCode> {
    Some(match code {
        codes::DOCUMENT_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        codes::QUERY_TOO_COMPLEX
        | codes::DOCUMENT_NOT_TRUSTED
        | codes::PERSISTED_QUERY_HASH_MISMATCH
        | codes::BAD_REQUEST => StatusCode::BAD_REQUEST,
        codes::METHOD_NOT_ALLOWED => StatusCode::METHOD_NOT_ALLOWED,
        codes::TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        _ => return None,
    })
}

/// A request error's body: its errors (and extensions), and no `data`.
#[derive(serde::Serialize)]
struct RequestErrorBody<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// One executed response as JSON text, and the status it deserves in `media`.
fn render(media: Media, response: GqlResponse) -> (StatusCode, String) {
    let request_error = is_request_error(&response);
    let code = response
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|ext| match ext.get("code") {
            Some(async_graphql::Value::String(code)) => Some(code.clone()),
            _ => None,
        });
    let status = match code.as_deref().and_then(status_for_code) {
        Some(status) if request_error => status,
        _ if request_error && media == Media::GraphqlResponse => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = if request_error {
        serde_json::to_string(&RequestErrorBody {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_string(&response)
    };
    let body = body.unwrap_or_else(|e| {
        json!({"errors": [{"message": format!("response not serialisable: {e}"), "extensions": {"code": "INTERNAL"}}]})
        .to_string()
    });
    (status, body)
}

fn finish(media: Media, status: StatusCode, body: String) -> Response {
    let mut response = answer_text(media, status, body);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// Who is asking, for execution: the verified caller (or none), their raw token, their address.
struct Caller {
    addr: ClientAddr,
    token: Option<(String, VerifiedToken)>,
}

impl Caller {
    async fn from_headers(
        state: &AppState,
        media: Media,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<Self, Reject> {
        let token = bearer_token(headers, &state.verifier).await.map_err(|e| {
            refuse(
                media,
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                e.to_string(),
            )
        })?;
        Ok(Self {
            addr: ClientAddr(peer.ip()),
            token,
        })
    }

    /// Charges `operations` to the caller's address and, when signed in, to the user.
    fn charge(&self, state: &AppState, media: Media, operations: u32) -> Result<(), Reject> {
        let address = state
            .limits
            .per_address
            .as_ref()
            .map(|l| l.take(self.addr.0, operations));
        let user = match (&state.limits.per_user, &self.token) {
            (Some(limiter), Some((_, verified))) => {
                Some(limiter.take(verified.viewer.subject.clone(), operations))
            }
            _ => None,
        };
        let wait = [address, user]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .max();
        let Some(wait) = wait else {
            return Ok(());
        };
        metrics().rate_limited.inc();
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut reject = refuse_with(
            media,
            StatusCode::TOO_MANY_REQUESTS,
            json!({"code": TOO_MANY_REQUESTS, "retryAfterSeconds": seconds}),
            format!("too many requests: retry in {seconds} s"),
        );
        reject.retry_after = Some(seconds);
        Err(reject)
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

/// A request from GraphQL-over-HTTP parameters (a POST body object, or GET's query string
/// decoded into JSON values), each checked for the type the spec gives it.
fn request_from_params(
    media: Media,
    params: &serde_json::Map<String, Value>,
) -> Result<Request, Reject> {
    let mut extensions = match params.get("extensions") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(bad_param(media, "extensions", "must be an object")),
    };
    match params.get("documentId") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) => {
            extensions.insert("documentId".into(), Value::String(id.clone()));
        }
        Some(_) => return Err(bad_param(media, "documentId", "must be a string")),
    }
    let persisted =
        extensions.contains_key("persistedQuery") || extensions.contains_key("documentId");
    let query = match params.get("query") {
        Some(Value::String(q)) => q.clone(),
        None | Some(Value::Null) if persisted => String::new(),
        None | Some(Value::Null) => return Err(bad_param(media, "query", "is required")),
        Some(_) => return Err(bad_param(media, "query", "must be a string")),
    };
    let mut request = Request::new(query);
    match params.get("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if name.is_empty() => {}
        Some(Value::String(name)) => request = request.operation_name(name.as_str()),
        Some(_) => return Err(bad_param(media, "operationName", "must be a string")),
    }
    match params.get("variables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            request = request.variables(Variables::from_json(Value::Object(map.clone())));
        }
        Some(_) => return Err(bad_param(media, "variables", "must be an object")),
    }
    request.extensions = serde_json::from_value(Value::Object(extensions))
        .map_err(|_| bad_param(media, "extensions", "must be an object"))?;
    Ok(request)
}

pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let caller = match Caller::from_headers(&state, media, &headers, peer).await {
        Ok(c) => c,
        Err(reject) => return reject.into_response(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut parts = content_type.split(';').map(str::trim);
    let json_body = parts.next() == Some("application/json");
    let utf8 = parts
        .filter_map(|p| p.strip_prefix("charset="))
        .all(|c| c.trim_matches('"') == "utf-8");
    if !json_body || !utf8 {
        return refuse(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::BAD_REQUEST,
            "Content-Type must be application/json (UTF-8)",
        )
        .into_response();
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return refuse(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::DOCUMENT_TOO_LARGE,
            format!("request body is over {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let params: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                media,
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                format!("body is not JSON: {e}"),
            )
            .into_response();
        }
    };
    match params {
        Value::Object(params) => {
            let request = match request_from_params(media, &params) {
                Ok(r) => r,
                Err(reject) => return reject.into_response(),
            };
            if let Err(response) = caller.charge(&state, media, 1) {
                return response.into_response();
            }
            let (status, body) = render(media, state.schema.execute(caller.attach(request)).await);
            finish(media, status, body)
        }
        Value::Array(list) => {
            let max = state.limits.max_batch;
            if list.is_empty() || list.len() > max as usize {
                return refuse_with(
                    media,
                    StatusCode::BAD_REQUEST,
                    json!({"code": BATCH_TOO_LARGE, "limit": "maxBatch", "max": max, "actual": list.len()}),
                    format!("a batch holds 1 to {max} operations, not {}", list.len()),
                ).into_response();
            }
            let mut requests = Vec::with_capacity(list.len());
            for item in &list {
                let Value::Object(params) = item else {
                    return bad_param(media, "body", "each batched request must be an object")
                        .into_response();
                };
                match request_from_params(media, params) {
                    Ok(r) => requests.push(caller.attach(r)),
                    Err(reject) => return reject.into_response(),
                }
            }
            let operations = u32::try_from(requests.len()).unwrap_or(u32::MAX);
            if let Err(response) = caller.charge(&state, media, operations) {
                return response.into_response();
            }
            let mut bodies = Vec::with_capacity(requests.len());
            for request in requests {
                bodies.push(render(media, state.schema.execute(request).await).1);
            }
            answer_text(media, StatusCode::OK, format!("[{}]", bodies.join(",")))
        }
        _ => {
            bad_param(media, "body", "must be a JSON object (or an array of them)").into_response()
        }
    }
}

fn not_acceptable() -> Response {
    refuse(
        Media::Json,
        StatusCode::NOT_ACCEPTABLE,
        codes::BAD_REQUEST,
        "Accept must allow application/graphql-response+json or application/json",
    )
    .into_response()
}

pub async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: HttpRequest<Body>,
) -> Response {
    let (mut parts, _) = request.into_parts();
    if parts.headers.contains_key(header::UPGRADE) {
        return websocket(state, &mut parts, peer.ip()).await;
    }
    let Some(media) = Media::negotiate(&parts.headers) else {
        return not_acceptable();
    };
    let caller = match Caller::from_headers(&state, media, &parts.headers, peer).await {
        Ok(c) => c,
        Err(reject) => return reject.into_response(),
    };
    let Ok(Query(raw)) =
        Query::<HashMap<String, String>>::from_request_parts(&mut parts, &state).await
    else {
        return bad_param(media, "query string", "is malformed").into_response();
    };
    // GET carries every parameter as a string: JSON ones are decoded, the others kept.
    let mut params = serde_json::Map::new();
    for (key, value) in raw {
        let key = if key == "operation_name" {
            "operationName".to_string()
        } else {
            key
        };
        let decoded = match key.as_str() {
            "variables" | "extensions" if value.is_empty() => continue,
            "variables" | "extensions" => match serde_json::from_str::<Value>(&value) {
                Ok(v) => v,
                Err(_) => return bad_param(media, &key, "is not JSON").into_response(),
            },
            _ => Value::String(value),
        };
        params.insert(key, decoded);
    }
    let request = match request_from_params(media, &params) {
        Ok(r) => r.data(ReadOnly),
        Err(reject) => return reject.into_response(),
    };
    if let Err(response) = caller.charge(&state, media, 1) {
        return response.into_response();
    }
    let (status, body) = render(media, state.schema.execute(caller.attach(request)).await);
    finish(media, status, body)
}

/// Bounds on WebSockets, from the edge configuration.
pub struct SocketLimits {
    pub init_timeout: Duration,
    pub max_subscriptions: usize,
    pub max_connections_per_address: usize,
    pub max_message_bytes: usize,
    /// Open sockets by client address.
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl SocketLimits {
    pub fn new(
        init_timeout: Duration,
        max_subscriptions: usize,
        max_connections_per_address: usize,
        max_message_bytes: usize,
    ) -> Self {
        Self {
            init_timeout,
            max_subscriptions,
            max_connections_per_address,
            max_message_bytes,
            open: Mutex::default(),
        }
    }

    /// A slot for one more socket from `addr`, released when the guard drops.
    fn open(self: &Arc<Self>, addr: IpAddr) -> Option<OpenSocket> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(addr).or_default();
        if self.max_connections_per_address > 0 && *count >= self.max_connections_per_address {
            return None;
        }
        *count += 1;
        Some(OpenSocket {
            limits: self.clone(),
            addr,
            _live: Live::new(&metrics().websockets_open),
        })
    }
}

struct OpenSocket {
    limits: Arc<SocketLimits>,
    addr: IpAddr,
    _live: Live,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        if let Ok(mut open) = self.limits.open.lock()
            && let Some(count) = open.get_mut(&self.addr)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

/// Rate limits and batch size for `/graphql`, from the edge configuration.
pub struct RequestLimits {
    pub max_batch: u32,
    pub per_address: Option<super::rate_limit::RateLimiter<IpAddr>>,
    pub per_user: Option<super::rate_limit::RateLimiter<String>>,
}

/// graphql-transport-ws (and legacy graphql-ws). The token rides in `connection_init`'s
/// payload as `Authorization: "Bearer …"` (or `token`). A bad token closes the socket with
/// 4403; so does the token's expiry, so a subscription never outlives its credential. A socket
/// that does not send `connection_init` in time closes with 4408; one subscription too many is
/// answered with an `error` message for its id; shutdown closes every socket with 1001.
async fn websocket(
    state: AppState,
    parts: &mut axum::http::request::Parts,
    ip: IpAddr,
) -> Response {
    let protocol = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let Some(slot) = state.sockets.open(ip) else {
        return refuse(
            Media::Json,
            StatusCode::TOO_MANY_REQUESTS,
            TOO_MANY_REQUESTS,
            format!(
                "at most {} WebSockets may be open from one address",
                state.sockets.max_connections_per_address
            ),
        )
        .into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let max = state.sockets.max_message_bytes;
    let session = Session {
        schema: state.schema.clone(),
        verifier: state.verifier.clone(),
        sockets: state.sockets.clone(),
        limits: state.limits.clone(),
        shutdown: state.shutdown.clone(),
        protocol,
        ip,
        _slot: slot,
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve_socket(socket, session))
}

/// Everything one socket needs, including its slot in the per-address count.
struct Session {
    schema: MercadoSchema,
    verifier: Arc<TokenVerifier>,
    sockets: Arc<SocketLimits>,
    limits: Arc<RequestLimits>,
    shutdown: watch::Receiver<bool>,
    protocol: WebSocketProtocols,
    ip: IpAddr,
    _slot: OpenSocket,
}

/// What the socket loop learns from both directions.
#[derive(Default)]
struct Tracked {
    /// Set once connection_init has verified a token: when the socket must close.
    expires_at: Option<i64>,
    initialised: bool,
    /// Operations started and not yet completed, by id.
    active: HashSet<String>,
}

/// The two fields of a protocol message the socket loop looks at.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

impl Session {
    /// Whether a client message may reach the schema; otherwise the error message to send.
    fn admit(&self, tracked: &Mutex<Tracked>, bytes: &[u8]) -> Result<(), String> {
        let Ok(Envelope { kind, id }) = serde_json::from_slice::<Envelope>(bytes) else {
            return Ok(()); // the protocol handler answers malformed messages itself
        };
        let Ok(mut tracked) = tracked.lock() else {
            return Ok(());
        };
        match (kind.as_str(), id) {
            ("subscribe" | "start", Some(id)) => {
                let refusal = if tracked.active.len() >= self.sockets.max_subscriptions {
                    Some(format!(
                        "at most {} operations may be open on one WebSocket",
                        self.sockets.max_subscriptions
                    ))
                } else if let Some(Err(wait)) =
                    self.limits.per_address.as_ref().map(|l| l.take(self.ip, 1))
                {
                    metrics().rate_limited.inc();
                    Some(format!(
                        "too many requests: retry in {} s",
                        wait.as_secs() + 1
                    ))
                } else {
                    None
                };
                match refusal {
                    Some(message) => Err(self.error_message(&id, &message)),
                    None => {
                        tracked.active.insert(id);
                        Ok(())
                    }
                }
            }
            ("complete" | "stop", Some(id)) => {
                tracked.active.remove(&id);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn error_message(&self, id: &str, message: &str) -> String {
        let error = json!({"message": message, "extensions": {"code": TOO_MANY_REQUESTS}});
        let payload = match self.protocol {
            WebSocketProtocols::GraphQLWS => json!([error]),
            _ => error,
        };
        json!({"id": id, "type": "error", "payload": payload}).to_string()
    }
}

async fn serve_socket(socket: WebSocket, session: Session) {
    let session = Arc::new(session);
    let tracked: Arc<Mutex<Tracked>> = Arc::default();
    let (refusals, mut refused) = mpsc::unbounded_channel::<String>();
    let (mut sink, stream) = socket.split();
    let input = {
        let (session, tracked) = (session.clone(), tracked.clone());
        stream
            .take_while(|m| futures::future::ready(m.is_ok()))
            .filter_map(move |m| {
                let bytes = match m {
                    Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
                    Ok(Message::Binary(b)) => Some(b.to_vec()),
                    _ => None,
                };
                let bytes = bytes.and_then(|bytes| match session.admit(&tracked, &bytes) {
                    Ok(()) => Some(bytes),
                    Err(message) => {
                        let _ = refusals.send(message);
                        None
                    }
                });
                futures::future::ready(bytes)
            })
    };
    let on_init = {
        let (verifier, tracked) = (session.verifier.clone(), tracked.clone());
        move |payload: Value| async move {
            let mut data = Data::default();
            let mut expires = None;
            match connection_token(&payload) {
                None => data.insert(None::<mercado_resolvers::Viewer>),
                Some(token) => {
                    let VerifiedToken { viewer, expires_at } = verifier
                        .verify(&token)
                        .await
                        .map_err(|e| async_graphql::Error::new(format!("{AUTH_FAILURE}{e}")))?;
                    expires = Some(expires_at);
                    data.insert(Some(viewer));
                    data.insert(BearerToken(token));
                }
            }
            if let Ok(mut tracked) = tracked.lock() {
                tracked.initialised = true;
                tracked.expires_at = expires;
            }
            Ok(data)
        }
    };
    let output = GqlWebSocket::new(session.schema.clone(), input, session.protocol)
        .on_connection_init(on_init);
    let mut output = std::pin::pin!(output);
    let mut shutdown = session.shutdown.clone();
    let init_deadline = tokio::time::Instant::now() + session.sockets.init_timeout;
    loop {
        let (initialised, deadline) = tracked
            .lock()
            .map(|t| (t.initialised, t.expires_at))
            .unwrap_or((true, None));
        let expired = async {
            match deadline {
                Some(at) => {
                    let left = at - chrono::Utc::now().timestamp();
                    tokio::time::sleep(Duration::from_secs(u64::try_from(left).unwrap_or(0))).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let next = tokio::select! {
            message = output.next() => message,
            Some(text) = refused.recv() => Some(WsMessage::Text(text)),
            () = expired => Some(WsMessage::Close(CLOSE_FORBIDDEN, "Forbidden: token expired".into())),
            () = tokio::time::sleep_until(init_deadline), if !initialised => {
                Some(WsMessage::Close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout".into()))
            }
            _ = shutdown.wait_for(|stopping| *stopping) => {
                Some(WsMessage::Close(CLOSE_GOING_AWAY, "server shutting down".into()))
            }
        };
        let sent = match next {
            Some(WsMessage::Text(text)) => {
                // Only `complete` ends an operation server-side (async-graphql writes the tag
                // first); `next` payloads, however large, are not parsed.
                if text.starts_with(r#"{"type":"complete""#)
                    && let Ok(Envelope { id: Some(id), .. }) = serde_json::from_str(&text)
                    && let Ok(mut tracked) = tracked.lock()
                {
                    tracked.active.remove(&id);
                }
                sink.send(Message::Text(text.into())).await
            }
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
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn accept_negotiation_follows_the_spec() {
        let media = |accept: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
            Media::negotiate(&headers)
        };
        assert_eq!(Media::negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(media("*/*"), Some(Media::Json));
        assert_eq!(media("application/json"), Some(Media::Json));
        assert_eq!(
            media("application/graphql-response+json, application/json;q=0.9"),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            media("application/graphql-response+json;q=0.5, application/json"),
            Some(Media::Json)
        );
        assert_eq!(media("text/html"), None);
        assert_eq!(media("application/json;q=0"), None);
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
