//! `/images/<key>`: product images served from the private bucket, for the default
//! `MERCADO_IMAGE_BASE_URL` (`/images`). Keys are unique per upload, so a response never
//! changes: browsers and any CDN in front may keep it for a year.

use async_trait::async_trait;
use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::stream::BoxStream;
use mercado_resolvers::{
    StoreError,
    inventory::{IMAGE_CONTENT_TYPES, parse_image_key},
};

use super::AppState;

/// One stored image, streamed.
pub struct ImageObject {
    pub content_type: Option<String>,
    pub content_length: Option<i64>,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// Reads product images from object storage (S3 in the server).
#[async_trait]
pub trait ImageSource: Send + Sync {
    /// The object at `key`, or `None` when there is none.
    async fn open(&self, key: &str) -> Result<Option<ImageObject>, StoreError>;
}

pub async fn image(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    // Only product images: never any other object of the bucket.
    if parse_image_key(&key).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.images.open(&key).await {
        Ok(Some(object)) => {
            // Uploads are signed for these types; anything else is served as opaque bytes.
            let content_type = object
                .content_type
                .filter(|t| IMAGE_CONTENT_TYPES.iter().any(|(known, _)| known == t))
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut response = Response::builder()
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
                .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
            if let Some(length) = object.content_length {
                response = response.header(header::CONTENT_LENGTH, length);
            }
            response
                .body(Body::from_stream(object.body))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(%key, error = %e, "image read failed");
            (StatusCode::SERVICE_UNAVAILABLE, "image storage unavailable").into_response()
        }
    }
}
