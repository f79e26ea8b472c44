//! Object storage for product images in memory: presigns a PUT the way the S3 adapter answers
//! (the signed `content-type` and `content-length` headers the browser must send, an expiry)
//! and remembers every request, so a test can see what was signed.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;

use super::poisoned;
use crate::{
    StoreError,
    inventory::{ImageStorage, PresignedUpload},
};

/// Largest upload the fake accepts unless told otherwise (5 MiB).
pub const DEFAULT_MAX_BYTES: i64 = 5 * 1024 * 1024;
/// How long a presigned URL stays valid.
const TTL_SECONDS: i64 = 15 * 60;

/// One presigned upload: key, content type, content length.
pub type Presigned = (String, String, i64);

/// Presigned uploads, recorded.
pub struct FakeImages {
    max_bytes: i64,
    presigned: Mutex<Vec<Presigned>>,
}

impl Default for FakeImages {
    fn default() -> Self {
        Self::with_max_bytes(DEFAULT_MAX_BYTES)
    }
}

impl FakeImages {
    /// Accepts uploads of at most `max_bytes`.
    pub fn with_max_bytes(max_bytes: i64) -> Self {
        Self {
            max_bytes,
            presigned: Mutex::default(),
        }
    }

    /// Every upload presigned so far, oldest first.
    pub fn presigned(&self) -> Vec<Presigned> {
        self.presigned.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl ImageStorage for FakeImages {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
    ) -> Result<PresignedUpload, StoreError> {
        let expires_at = Utc::now() + chrono::Duration::seconds(TTL_SECONDS);
        self.presigned.lock().map_err(|_| poisoned())?.push((
            key.to_string(),
            content_type.to_string(),
            content_length,
        ));
        Ok(PresignedUpload {
            url: format!(
                "https://images.fake/{key}?X-Amz-Expires={TTL_SECONDS}&X-Amz-Signature=fake"
            ),
            method: "PUT".into(),
            headers: vec![
                ("content-type".into(), content_type.to_string()),
                ("content-length".into(), content_length.to_string()),
            ],
            expires_at,
        })
    }

    fn max_bytes(&self) -> i64 {
        self.max_bytes
    }
}
