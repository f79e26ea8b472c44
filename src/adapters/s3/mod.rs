//! S3: product images. Browsers upload straight to the bucket with presigned PUT URLs; the
//! bucket's object-created notifications go to an SQS queue that the image-events worker reads.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::{Client, error::DisplayErrorContext, presigning::PresigningConfig};
use mercado_resolvers::{
    StoreError,
    inventory::{ImageStorage, PresignedUpload},
};

use crate::{
    app::config::ImagesConfig,
    http::{ImageObject, ImageSource},
};

/// Key prefix of every product image; the notification is filtered on it.
pub const IMAGE_PREFIX: &str = "products/";

pub struct S3Images {
    client: Client,
    bucket: String,
    max_bytes: i64,
    ttl: Duration,
}

/// An S3 client; path-style addressing when a custom endpoint (a local server) is configured.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Client::from_conf(config)
}

impl S3Images {
    pub fn new(client: Client, config: &ImagesConfig) -> Self {
        Self {
            client,
            bucket: config.images_bucket.clone(),
            max_bytes: config.image_max_bytes,
            ttl: Duration::from_secs(config.image_url_ttl_seconds),
        }
    }
}

#[async_trait]
impl ImageStorage for S3Images {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
    ) -> Result<PresignedUpload, StoreError> {
        let presigning = PresigningConfig::expires_in(self.ttl)
            .map_err(|e| StoreError::Internal(format!("presign config: {e}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length)
            .presigned(presigning)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("presign: {}", DisplayErrorContext(&e)))
            })?;
        let mut headers: Vec<(String, String)> = request
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // The signature covers these; the browser must send them exactly.
        for (name, value) in [
            ("content-type", content_type.to_string()),
            ("content-length", content_length.to_string()),
        ] {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                headers.push((name.to_string(), value));
            }
        }
        Ok(PresignedUpload {
            url: request.uri().to_string(),
            method: request.method().to_string(),
            headers,
            expires_at: chrono::Utc::now()
                + chrono::Duration::from_std(self.ttl).unwrap_or_default(),
        })
    }

    fn max_bytes(&self) -> i64 {
        self.max_bytes
    }
}

#[async_trait]
impl ImageSource for S3Images {
    async fn open(&self, key: &str) -> Result<Option<ImageObject>, StoreError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "get image: {}",
                    DisplayErrorContext(&e)
                )));
            }
        };
        let body = futures::stream::try_unfold(object.body, |mut body| async move {
            match body.try_next().await {
                Ok(chunk) => Ok(chunk.map(|c| (c, body))),
                Err(e) => Err(std::io::Error::other(e)),
            }
        });
        Ok(Some(ImageObject {
            content_type: object.content_type,
            content_length: object.content_length,
            body: Box::pin(body),
        }))
    }
}
