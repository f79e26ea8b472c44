//! The original REST endpoints, answering in the original envelope
//! `{isSuccess, message, data, errorCode, errors}` over the same stores and rules as GraphQL.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use mercado_resolvers::{ApiError, Role, StoreError, inventory::validate_new_product};
use serde::Serialize;

use super::{AppState, bearer_viewer};

/// Seller id recorded for products created without a token (the original API had none).
pub const ANONYMOUS_SELLER: &str = "anonymous";
/// How many products `GET /api/inventory` lists.
const LIST_LIMIT: u32 = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<T: Serialize> {
    is_success: bool,
    message: String,
    data: Option<T>,
    error_code: Option<&'static str>,
    errors: Vec<FieldError>,
}

#[derive(Serialize)]
struct FieldError {
    field: String,
    message: String,
}

fn ok<T: Serialize>(message: &str, data: T) -> Response {
    Json(Envelope {
        is_success: true,
        message: message.into(),
        data: Some(data),
        error_code: None,
        errors: Vec::new(),
    })
    .into_response()
}

fn fail(errors: Vec<ApiError>) -> Response {
    let first = errors
        .first()
        .cloned()
        .unwrap_or_else(|| ApiError::Internal("unknown failure".into()));
    let status = match first {
        ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict(_) | ApiError::StaleVersion { .. } => StatusCode::CONFLICT,
        ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal(ref detail) => {
            tracing::error!(%detail, "internal error");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let message = match first {
        ApiError::BadUserInput { .. } => "invalid request".to_string(),
        ref other => other.to_string(),
    };
    let body = Envelope::<()> {
        is_success: false,
        message,
        data: None,
        error_code: Some(first.code()),
        errors: errors
            .iter()
            .filter_map(|e| match e {
                ApiError::BadUserInput { field, message } => Some(FieldError {
                    field: field.clone(),
                    message: message.clone(),
                }),
                _ => None,
            })
            .collect(),
    };
    (status, Json(body)).into_response()
}

fn store_fail(err: StoreError) -> Response {
    fail(vec![err.into()])
}

/// `GET /api/inventory`: the newest products from the source of truth.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(response) = caller(&state, &headers, None).await {
        return response;
    }
    match state.inventory.list_products(LIST_LIMIT).await {
        Ok(products) => ok("products listed", products),
        Err(e) => store_fail(e),
    }
}

/// `POST /api/inventory/create` with `{"name": "...", "info": {"category": "..."}}`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let seller = match caller(&state, &headers, Some(Role::Seller)).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => return fail(vec![ApiError::bad_input("body", "must be a JSON object")]),
        Err(e) => {
            return fail(vec![ApiError::bad_input(
                "body",
                format!("is not JSON: {e}"),
            )]);
        }
    };
    let name = match value.get("name") {
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(_) => return fail(vec![ApiError::bad_input("name", "must be a string")]),
        None => return fail(vec![ApiError::bad_input("name", "is required")]),
    };
    let category = match value.get("category") {
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let product = match validate_new_product("", name, category, value.get("info").cloned()) {
        Ok(p) => p,
        Err(errors) => return fail(errors),
    };
    match state.inventory.create_product(&seller, product).await {
        Ok(product) => ok("product created", product),
        Err(e) => store_fail(e),
    }
}

/// The seller id to act as. A token, when present, must be valid (and hold `role` if one is
/// required); without one, the endpoints stay open unless MERCADO_REST_REQUIRE_TOKEN is set.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    role: Option<Role>,
) -> Result<String, Response> {
    let viewer = bearer_viewer(headers, &state.verifier)
        .await
        .map_err(|e| fail(vec![ApiError::Unauthenticated(e.to_string())]))?;
    match viewer {
        Some(v) => match role {
            Some(role) if !v.has_role(role) => Err(fail(vec![ApiError::Forbidden(format!(
                "the {} role is required",
                role.as_str()
            ))])),
            _ => Ok(v.subject),
        },
        None if state.rest_require_token => Err(fail(vec![ApiError::Unauthenticated(
            "a bearer token is required".into(),
        )])),
        None => Ok(ANONYMOUS_SELLER.to_string()),
    }
}
