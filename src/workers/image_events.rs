//! S3 object-created notifications → the product's image. A key made by
//! `requestProductImageUpload` (`products/<seller>/<product>/<file>`) sets that product's image
//! (a new version and event, so the catalog follows). Duplicate notifications and keys that
//! belong to no product are acknowledged and logged without effect.

use std::sync::Arc;

use mercado_resolvers::{
    StoreError,
    inventory::{InventoryStore, parse_image_key},
};
use serde::Deserialize;

use super::consumer::{HandleError, MessageHandler};

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

pub struct ImageEvents {
    inventory: Arc<dyn InventoryStore>,
}

impl ImageEvents {
    pub fn new(inventory: Arc<dyn InventoryStore>) -> Self {
        Self { inventory }
    }

    /// Applies one object key; returns whether a product changed.
    pub async fn apply_key(&self, key: &str) -> Result<bool, StoreError> {
        let Some((seller, product_id)) = parse_image_key(key) else {
            tracing::info!(%key, "object key is not a product image; ignored");
            return Ok(false);
        };
        match self.inventory.set_image(product_id, &seller, key).await {
            Ok(Some(product)) => {
                tracing::info!(%product_id, version = product.version, %key, "product image set");
                Ok(true)
            }
            Ok(None) => {
                tracing::info!(%product_id, %key, "image key unknown or already applied; ignored");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// S3 keys in notifications are URL-encoded (`+` for space).
fn decode_key(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match raw
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait::async_trait]
impl MessageHandler for ImageEvents {
    async fn handle(&self, body: &[u8]) -> Result<(), HandleError> {
        // S3 sends a test event when the notification is configured: nothing to do.
        let Ok(notification) = serde_json::from_slice::<Notification>(body) else {
            tracing::warn!(body = %String::from_utf8_lossy(body), "not an S3 notification; ignored");
            return Ok(());
        };
        for record in notification
            .records
            .iter()
            .filter(|r| r.event_name.starts_with("ObjectCreated"))
        {
            self.apply_key(&decode_key(&record.s3.object.key))
                .await
                .map_err(|e| HandleError::Transient(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::decode_key;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("products/a%40b/x+y.png"), "products/a@b/x y.png");
        assert_eq!(decode_key("plain/key.png"), "plain/key.png");
        assert_eq!(decode_key("bad%zz"), "bad%zz");
        assert_eq!(decode_key("end%4"), "end%4");
    }
}
