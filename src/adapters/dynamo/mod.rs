//! DynamoDB: the read model. The catalog table, its provisioning and its adapters.

mod catalog;
mod cursor;
mod profiles;

pub use catalog::DynamoCatalog;
pub use profiles::DynamoProfiles;

use aws_sdk_dynamodb::{
    Client,
    client::Waiters,
    types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    },
};

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

use crate::StartupError;

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

/// A key-schema element of the string attribute `name`.
fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StartupError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StartupError::Aws(e.to_string()))
}

/// The definition of a string attribute used by a key.
fn attr(name: &str) -> Result<AttributeDefinition, StartupError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StartupError::Aws(e.to_string()))
}

/// Creates the catalog table and its indexes; an existing table is left as it is.
pub async fn provision_catalog_table(client: &Client, table: &str) -> Result<bool, StartupError> {
    let index =
        |name: &str, hash: &str, range: &str| -> Result<GlobalSecondaryIndex, StartupError> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .key_schema(key(range, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| StartupError::Aws(e.to_string()))
        };
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(ATTR_ID)?)
        .attribute_definitions(attr(ATTR_CATEGORY)?)
        .attribute_definitions(attr(ATTR_LISTING)?)
        .attribute_definitions(attr(ATTR_LISTED_SORT)?)
        .attribute_definitions(attr(ATTR_SELLER)?)
        .attribute_definitions(attr(ATTR_CREATED_SORT)?)
        .key_schema(key(ATTR_ID, KeyType::Hash)?)
        .global_secondary_indexes(index(INDEX_BY_CATEGORY, ATTR_CATEGORY, ATTR_LISTED_SORT)?)
        .global_secondary_indexes(index(INDEX_BY_LISTING, ATTR_LISTING, ATTR_LISTED_SORT)?)
        .global_secondary_indexes(index(INDEX_BY_SELLER, ATTR_SELLER, ATTR_CREATED_SORT)?)
        .send()
        .await;
    let created = created_or_exists(client, table, result).await?;
    if !created {
        add_seller_index(client, table).await?;
    }
    Ok(created)
}

/// Tables made before the `by_seller` index existed get it added (DynamoDB backfills it).
async fn add_seller_index(client: &Client, table: &str) -> Result<(), StartupError> {
    let aws = |e: String| StartupError::Aws(format!("table {table}: {e}"));
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()))?;
    let has_index = described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .any(|i| i.index_name() == Some(INDEX_BY_SELLER));
    if has_index {
        return Ok(());
    }
    let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
        .index_name(INDEX_BY_SELLER)
        .key_schema(key(ATTR_SELLER, KeyType::Hash)?)
        .key_schema(key(ATTR_CREATED_SORT, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| aws(e.to_string()))?;
    client
        .update_table()
        .table_name(table)
        .attribute_definitions(attr(ATTR_SELLER)?)
        .attribute_definitions(attr(ATTR_CREATED_SORT)?)
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(create)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()))?;
    tracing::info!(%table, "added the by_seller index; existing items enter it when they next change");
    Ok(())
}

/// Creates the profiles table (keyed by user id); an existing table is left as it is.
pub async fn provision_profiles_table(client: &Client, table: &str) -> Result<bool, StartupError> {
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(profiles::ATTR_USER_ID)?)
        .key_schema(key(profiles::ATTR_USER_ID, KeyType::Hash)?)
        .send()
        .await;
    created_or_exists(client, table, result).await
}

/// Shared tail of table provisioning: wait for a new table, accept an existing one.
async fn created_or_exists<R>(
    client: &Client,
    table: &str,
    result: Result<
        R,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::create_table::CreateTableError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> Result<bool, StartupError> {
    match result {
        Ok(_) => {
            client
                .wait_until_table_exists()
                .table_name(table)
                .wait(std::time::Duration::from_secs(60))
                .await
                .map_err(|e| StartupError::Aws(format!("table {table} not active: {e}")))?;
            Ok(true)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(StartupError::Aws(format!(
            "create table {table}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
        ))),
    }
}
