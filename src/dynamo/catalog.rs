//! The catalog read model: one item per product holding the whole document a buyer needs, its
//! version, and the attributes the browsing indexes key on.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, error::DisplayErrorContext, types::AttributeValue};
use mercado_resolvers::{
    StoreError,
    catalog::{CatalogReader, ProductPage, ProductQuery},
    inventory::{Product, ProductStatus},
};
use uuid::Uuid;

use super::{
    ATTR_CATEGORY, ATTR_ID, ATTR_LISTED_SORT, ATTR_LISTING, INDEX_BY_CATEGORY, INDEX_BY_LISTING,
    cursor::Cursor,
};

const ATTR_VERSION: &str = "version";
const ATTR_DOC: &str = "doc";
const ATTR_STATUS: &str = "status";
const ATTR_DELETED: &str = "deleted";
/// Partition value of the `by_listing` index for products buyers may see.
const LISTED: &str = "LISTED";

/// What a conditional upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Applied,
    /// The table already holds this version or a newer one: nothing changed.
    Stale,
}

#[derive(Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes the product's document unless the table already holds this or a newer version.
    /// Only `ACTIVE` products carry the index attributes, so the browsing indexes list only
    /// what buyers may see.
    pub async fn upsert(&self, product: &Product) -> Result<Upsert, StoreError> {
        let doc = serde_json::to_string(product)
            .map_err(|e| StoreError::Internal(format!("serialize product: {e}")))?;
        let mut item: Item = HashMap::from([
            (
                ATTR_ID.to_string(),
                AttributeValue::S(product.id.to_string()),
            ),
            (ATTR_DOC.to_string(), AttributeValue::S(doc)),
            (
                ATTR_STATUS.to_string(),
                AttributeValue::S(product.status.as_str().into()),
            ),
        ]);
        if product.status == ProductStatus::Active {
            item.insert(
                ATTR_CATEGORY.into(),
                AttributeValue::S(product.category.clone()),
            );
            item.insert(ATTR_LISTING.into(), AttributeValue::S(LISTED.into()));
            item.insert(
                ATTR_LISTED_SORT.into(),
                AttributeValue::S(listed_sort(product)),
            );
        }
        self.put_if_newer(item, product.version).await
    }

    /// Replaces the item with a tombstone that keeps the version (so a late upsert cannot
    /// resurrect it) and no index attributes (so it leaves every index).
    pub async fn tombstone(&self, id: Uuid, version: i64) -> Result<Upsert, StoreError> {
        let item: Item = HashMap::from([
            (ATTR_ID.to_string(), AttributeValue::S(id.to_string())),
            (ATTR_DELETED.to_string(), AttributeValue::Bool(true)),
        ]);
        self.put_if_newer(item, version).await
    }

    /// A conditional put: only over a missing item or an older version.
    async fn put_if_newer(&self, mut item: Item, version: i64) -> Result<Upsert, StoreError> {
        item.insert(ATTR_VERSION.into(), AttributeValue::N(version.to_string()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id) OR #version < :version")
            .expression_attribute_names("#id", ATTR_ID)
            .expression_attribute_names("#version", ATTR_VERSION)
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Upsert::Applied),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Upsert::Stale)
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "dynamodb put: {}",
                DisplayErrorContext(&e)
            ))),
        }
    }

    /// Checks the table answers (readiness).
    pub async fn ping(&self) -> Result<(), String> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}

fn listed_sort(product: &Product) -> String {
    format!(
        "{}#{}",
        product.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        product.id
    )
}

fn decode_item(item: &Item) -> Result<Option<Product>, StoreError> {
    let Some(AttributeValue::S(doc)) = item.get(ATTR_DOC) else {
        return Ok(None);
    };
    serde_json::from_str(doc)
        .map(Some)
        .map_err(|e| StoreError::Internal(format!("catalog item is not a product: {e}")))
}

fn string_attr(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

#[async_trait]
impl CatalogReader for DynamoCatalog {
    async fn product(&self, id: Uuid) -> Result<Option<Product>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ATTR_ID, AttributeValue::S(id.to_string()))
            .send()
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("dynamodb get: {}", DisplayErrorContext(&e)))
            })?;
        match out.item() {
            // Buyers see only listed products.
            Some(item) => Ok(decode_item(item)?.filter(|p| p.status == ProductStatus::Active)),
            None => Ok(None),
        }
    }

    async fn products(&self, query: ProductQuery) -> Result<ProductPage, StoreError> {
        let (index, partition_attr, partition) = match &query.category {
            Some(category) => (INDEX_BY_CATEGORY, ATTR_CATEGORY, category.clone()),
            None => (INDEX_BY_LISTING, ATTR_LISTING, LISTED.to_string()),
        };
        let mut start = match &query.after {
            Some(raw) => {
                let c = Cursor::decode(raw, index, &partition)?;
                Some(HashMap::from([
                    (ATTR_ID.to_string(), AttributeValue::S(c.id)),
                    (
                        partition_attr.to_string(),
                        AttributeValue::S(partition.clone()),
                    ),
                    (ATTR_LISTED_SORT.to_string(), AttributeValue::S(c.sort)),
                ]))
            }
            None => None,
        };

        // One item past `first` tells whether a next page exists. DynamoDB may return short
        // pages (1 MB cap), so keep reading until we have them or the index ends.
        let want = query.first + 1;
        let mut items: Vec<Item> = Vec::with_capacity(want);
        loop {
            let remaining = i32::try_from(want - items.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", partition_attr)
                .expression_attribute_values(":p", AttributeValue::S(partition.clone()))
                .scan_index_forward(false)
                .limit(remaining)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    StoreError::Unavailable(format!("dynamodb query: {}", DisplayErrorContext(&e)))
                })?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if items.len() < want => start = Some(key.clone()),
                _ => break,
            }
        }

        let has_next_page = items.len() > query.first;
        items.truncate(query.first);
        let mut page = ProductPage {
            items: Vec::with_capacity(items.len()),
            has_next_page,
        };
        for item in &items {
            let Some(product) = decode_item(item)? else {
                continue;
            };
            let cursor = Cursor {
                index: index.to_string(),
                partition: partition.clone(),
                sort: string_attr(item, ATTR_LISTED_SORT).unwrap_or_default(),
                id: product.id.to_string(),
            };
            page.items.push((cursor.encode(), product));
        }
        Ok(page)
    }
}
