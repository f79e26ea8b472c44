//! DynamoDB tables: the catalog (with its browsing indexes) and the profiles.

use aws_sdk_dynamodb::{
    Client,
    client::Waiters,
    types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    },
};

use crate::{
    StartupError,
    adapters::dynamo::{
        ATTR_CATEGORY, ATTR_CREATED_SORT, ATTR_ID, ATTR_LISTED_SORT, ATTR_LISTING, ATTR_SELLER,
        INDEX_BY_CATEGORY, INDEX_BY_LISTING, INDEX_BY_SELLER, PROFILES_KEY,
    },
};

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
        .attribute_definitions(attr(PROFILES_KEY)?)
        .key_schema(key(PROFILES_KEY, KeyType::Hash)?)
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
