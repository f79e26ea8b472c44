//! DynamoDB: the read model. The catalog table, its provisioning and its adapters.

mod catalog;
mod cursor;
mod profiles;

pub use catalog::DynamoCatalog;
pub use profiles::DynamoProfiles;
/// Partition key of the profiles table: the user id.
pub const PROFILES_KEY: &str = profiles::ATTR_USER_ID;

use aws_sdk_dynamodb::Client;

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use aws_sdk_dynamodb::{
    error::DisplayErrorContext,
    types::{AttributeValue, KeysAndAttributes},
};
use mercado_resolvers::StoreError;

type Item = HashMap<String, AttributeValue>;

/// `BatchGetItem` takes at most 100 keys.
const BATCH_GET_MAX_KEYS: usize = 100;
/// Rounds of retrying keys DynamoDB left unprocessed before giving up.
const UNPROCESSED_RETRIES: u32 = 5;

/// Every item of `table` under `keys` (100 keys a call, unprocessed keys retried with backoff),
/// counting calls in `calls`. `attributes`: a projection (names, not expressions) or all.
async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    consistent: bool,
    attributes: &[&str],
    calls: &AtomicU64,
) -> Result<Vec<Item>, StoreError> {
    let unavailable = |e: String| StoreError::Unavailable(format!("dynamodb batch get: {e}"));
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_GET_MAX_KEYS) {
        let mut builder = KeysAndAttributes::builder()
            .set_keys(Some(chunk.to_vec()))
            .consistent_read(consistent);
        if !attributes.is_empty() {
            let names: Vec<String> = (0..attributes.len()).map(|i| format!("#a{i}")).collect();
            builder = builder.projection_expression(names.join(", "));
            for (name, attr) in names.iter().zip(attributes) {
                builder = builder.expression_attribute_names(name, *attr);
            }
        }
        let mut request = Some(
            builder
                .build()
                .map_err(|e| StoreError::Internal(e.to_string()))?,
        );
        let mut round = 0;
        while let Some(keys) = request.take() {
            calls.fetch_add(1, Ordering::Relaxed);
            let out = client
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await
                .map_err(|e| unavailable(DisplayErrorContext(&e).to_string()))?;
            if let Some(items) = out.responses().and_then(|r| r.get(table)) {
                found.extend(items.iter().cloned());
            }
            // DynamoDB may return some keys unprocessed (throttling, 16 MB cap): retry them.
            request = out
                .unprocessed_keys()
                .and_then(|u| u.get(table))
                .filter(|k| !k.keys().is_empty())
                .cloned();
            if request.is_some() {
                round += 1;
                if round > UNPROCESSED_RETRIES {
                    return Err(unavailable("keys left unprocessed".into()));
                }
                tokio::time::sleep(Duration::from_millis(20 << round)).await;
            }
        }
    }
    Ok(found)
}

/// Partition key of the catalog table: the product id.
pub const ATTR_ID: &str = "id";
/// Index `by_category`: partition by category, newest first.
pub const INDEX_BY_CATEGORY: &str = "by_category";
/// Index `by_listing`: every listed product, newest first.
pub const INDEX_BY_LISTING: &str = "by_listing";
pub const ATTR_CATEGORY: &str = "category";
pub const ATTR_LISTING: &str = "listing";
/// `<created_at>#<id>`: a unique, stable sort key, present only on listed (`ACTIVE`) items.
pub const ATTR_LISTED_SORT: &str = "listed_sort";
/// Index `by_seller`: a seller's products in every status, newest first.
pub const INDEX_BY_SELLER: &str = "by_seller";
pub const ATTR_SELLER: &str = "seller_id";
/// The same `<created_at>#<id>` on every live item (the `by_seller` sort key).
pub const ATTR_CREATED_SORT: &str = "created_sort";
