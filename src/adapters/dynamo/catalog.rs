//! The catalog read model: one item per product holding the whole document a buyer needs, its
//! version, and the attributes the browsing indexes key on.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, error::DisplayErrorContext, types::AttributeValue};
use mercado_resolvers::{
    StoreError,
    catalog::{
        AppliedVersion, CatalogChanges, CatalogEntry, CatalogReader, ProductPage, ProductQuery,
        ProductSort,
    },
    inventory::{Product, ProductStatus},
};
use uuid::Uuid;

use crate::workers::projector::{ModelItem, ReadModel, Upsert, digest};

use super::{
    ATTR_CATEGORY, ATTR_CREATED_SORT, ATTR_ID, ATTR_LISTED_SORT, ATTR_LISTING, ATTR_SELLER,
    INDEX_BY_CATEGORY, INDEX_BY_LISTING, INDEX_BY_SELLER, cursor::Cursor,
};

const ATTR_VERSION: &str = "version";
const ATTR_DOC: &str = "doc";
const ATTR_STATUS: &str = "status";
/// The lowest variant price, for price filters.
const ATTR_PRICE_FROM: &str = "price_from";
const ATTR_DELETED: &str = "deleted";
/// Partition value of the `by_listing` index for products buyers may see.
const LISTED: &str = "LISTED";

#[derive(Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
    query_calls: Arc<AtomicU64>,
    /// Single-item and batch reads of stored entries (live streams, consistency waits).
    entry_calls: Arc<AtomicU64>,
    /// Told of every applied write, so every instance hears it.
    changes: Option<Arc<dyn CatalogChanges>>,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            query_calls: Arc::default(),
            entry_calls: Arc::default(),
            changes: None,
        }
    }

    /// Announces every write this catalog applies (projector, reconciler) on `changes`.
    #[must_use]
    pub fn announcing(mut self, changes: Arc<dyn CatalogChanges>) -> Self {
        self.changes = Some(changes);
        self
    }

    /// How many entry reads (`GetItem`, `BatchGetItem`) this catalog has made.
    pub fn entry_calls(&self) -> u64 {
        self.entry_calls.load(Ordering::Relaxed)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// How many `Query` calls this reader has made (for tests and metrics).
    pub fn query_calls(&self) -> u64 {
        self.query_calls.load(Ordering::Relaxed)
    }

    /// A conditional put: only over a missing item or an older version. An applied write is
    /// announced; a failed announcement is logged, never undone (a later write or the read
    /// wait's bound covers it).
    async fn put_if(
        &self,
        item: Item,
        version: i64,
        condition: Condition,
    ) -> Result<Upsert, StoreError> {
        let id = match item.get(ATTR_ID) {
            Some(AttributeValue::S(id)) => Uuid::parse_str(id).ok(),
            _ => None,
        };
        let outcome = self.put_conditionally(item, version, condition).await?;
        if let (Upsert::Applied, Some(changes), Some(id)) = (outcome, &self.changes, id)
            && let Err(e) = changes.announce(AppliedVersion { id, version }).await
        {
            tracing::warn!(%id, version, error = %e, "applied catalog write not announced");
        }
        Ok(outcome)
    }

    async fn put_conditionally(
        &self,
        mut item: Item,
        version: i64,
        condition: Condition,
    ) -> Result<Upsert, StoreError> {
        item.insert(ATTR_VERSION.into(), AttributeValue::N(version.to_string()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(match condition {
                Condition::Newer => "attribute_not_exists(#id) OR #version < :version",
                Condition::Same => "attribute_exists(#id) AND #version = :version",
            })
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

    /// The stored document of any item, whatever its status; `None` for a tombstone.
    pub async fn stored(&self, id: Uuid) -> Result<Option<Product>, StoreError> {
        Ok(match self.entry(id).await? {
            CatalogEntry::Present(product) => Some(*product),
            CatalogEntry::Missing | CatalogEntry::Deleted { .. } => None,
        })
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
impl ReadModel for DynamoCatalog {
    /// Writes the product's document unless the table already holds this or a newer version.
    async fn upsert(&self, product: &Product) -> Result<Upsert, StoreError> {
        self.put_if(item_for(product)?, product.version, Condition::Newer)
            .await
    }

    /// Replaces the item with a tombstone that keeps the version (so a late upsert cannot
    /// resurrect it) and no index attributes (so it leaves every index).
    async fn tombstone(&self, id: Uuid, version: i64) -> Result<Upsert, StoreError> {
        self.put_if(tombstone_item(id), version, Condition::Newer)
            .await
    }

    async fn rewrite(&self, product: &Product) -> Result<Upsert, StoreError> {
        self.put_if(item_for(product)?, product.version, Condition::Same)
            .await
    }

    /// Every item (a full scan, page by page). A live item's digest is its document's, unless
    /// its other attributes (indexes, price, status) are not what that document makes: then
    /// it matches no document, so the reconciler rewrites it.
    async fn scan(&self) -> Result<Vec<ModelItem>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    StoreError::Unavailable(format!("dynamodb scan: {}", DisplayErrorContext(&e)))
                })?;
            for item in page.items() {
                let Some(id) = string_attr(item, ATTR_ID) else {
                    continue;
                };
                let deleted = matches!(item.get(ATTR_DELETED), Some(AttributeValue::Bool(true)));
                out.push(ModelItem {
                    id,
                    version: version_attr(item),
                    deleted,
                    digest: (!deleted).then(|| item_digest(item)),
                });
            }
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(out),
            }
        }
    }
}

/// What `scan` reports for a live item: its document's digest if the item is exactly what
/// that document makes, else a digest no document has.
fn item_digest(item: &Item) -> String {
    const INCONSISTENT: &str = "inconsistent";
    let Ok(Some(product)) = decode_item(item) else {
        return INCONSISTENT.into();
    };
    let Ok(mut expected) = item_for(&product) else {
        return INCONSISTENT.into();
    };
    expected.insert(
        ATTR_VERSION.into(),
        AttributeValue::N(product.version.to_string()),
    );
    if &expected == item && version_attr(item) == product.version {
        digest(&product)
    } else {
        INCONSISTENT.into()
    }
}

/// The item a product's document makes. Only `ACTIVE` products carry the index attributes, so
/// the browsing indexes list only what buyers may see.
fn item_for(product: &Product) -> Result<Item, StoreError> {
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
        (
            ATTR_SELLER.to_string(),
            AttributeValue::S(product.seller_id.clone()),
        ),
        (
            ATTR_CREATED_SORT.to_string(),
            AttributeValue::S(listed_sort(product)),
        ),
    ]);
    if let Some(from) = product.lowest_price() {
        item.insert(ATTR_PRICE_FROM.into(), AttributeValue::N(from.to_string()));
    }
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
    Ok(item)
}

fn tombstone_item(id: Uuid) -> Item {
    HashMap::from([
        (ATTR_ID.to_string(), AttributeValue::S(id.to_string())),
        (ATTR_DELETED.to_string(), AttributeValue::Bool(true)),
    ])
}

/// When a conditional write applies.
#[derive(Clone, Copy)]
enum Condition {
    /// Over a missing item or an older version.
    Newer,
    /// Over the same version only (a repair of its content).
    Same,
}

fn version_attr(item: &Item) -> i64 {
    match item.get(ATTR_VERSION) {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
        _ => 0,
    }
}

#[async_trait]
impl CatalogReader for DynamoCatalog {
    async fn entry(&self, id: Uuid) -> Result<CatalogEntry, StoreError> {
        self.entry_calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ATTR_ID, AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("dynamodb get: {}", DisplayErrorContext(&e)))
            })?;
        let Some(item) = out.item() else {
            return Ok(CatalogEntry::Missing);
        };
        if matches!(item.get(ATTR_DELETED), Some(AttributeValue::Bool(true))) {
            return Ok(CatalogEntry::Deleted {
                version: version_attr(item),
            });
        }
        Ok(decode_item(item)?.map_or(CatalogEntry::Missing, |p| {
            CatalogEntry::Present(Box::new(p))
        }))
    }

    async fn versions(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, i64>, StoreError> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let keys = unique
            .iter()
            .map(|id| HashMap::from([(ATTR_ID.to_string(), AttributeValue::S(id.to_string()))]))
            .collect();
        let items = super::batch_get(
            &self.client,
            &self.table,
            keys,
            true,
            &[ATTR_ID, ATTR_VERSION],
            &self.entry_calls,
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let id = Uuid::parse_str(&string_attr(item, ATTR_ID)?).ok()?;
                Some((id, version_attr(item)))
            })
            .collect())
    }

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
        let active = || AttributeValue::S(ProductStatus::Active.as_str().into());
        let mut filters: Vec<&str> = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        // Pick the index that narrows most; the rest becomes a filter.
        let (index, partition_attr, sort_attr, partition) =
            match (&query.category, &query.seller_id) {
                (_, Some(seller)) if query.all_statuses => (
                    INDEX_BY_SELLER,
                    ATTR_SELLER,
                    ATTR_CREATED_SORT,
                    seller.clone(),
                ),
                (Some(category), seller) => {
                    if let Some(seller) = seller {
                        filters.push("#seller = :seller");
                        names.insert("#seller".into(), ATTR_SELLER.into());
                        values.insert(":seller".into(), AttributeValue::S(seller.clone()));
                    }
                    (
                        INDEX_BY_CATEGORY,
                        ATTR_CATEGORY,
                        ATTR_LISTED_SORT,
                        category.clone(),
                    )
                }
                (None, Some(seller)) => {
                    filters.push("#status = :active");
                    names.insert("#status".into(), ATTR_STATUS.into());
                    values.insert(":active".into(), active());
                    (
                        INDEX_BY_SELLER,
                        ATTR_SELLER,
                        ATTR_CREATED_SORT,
                        seller.clone(),
                    )
                }
                (None, None) => (
                    INDEX_BY_LISTING,
                    ATTR_LISTING,
                    ATTR_LISTED_SORT,
                    LISTED.to_string(),
                ),
            };
        if let Some(min) = query.min_price {
            filters.push("#price >= :min");
            values.insert(":min".into(), AttributeValue::N(min.to_string()));
        }
        if let Some(max) = query.max_price {
            filters.push("#price <= :max");
            values.insert(":max".into(), AttributeValue::N(max.to_string()));
        }
        if query.min_price.is_some() || query.max_price.is_some() {
            names.insert("#price".into(), ATTR_PRICE_FROM.into());
        }
        let direction = match query.sort {
            ProductSort::Newest => "N",
            ProductSort::Oldest => "O",
        };
        let listing = format!("{index}/{direction}");
        names.insert("#p".into(), partition_attr.into());
        values.insert(":p".into(), AttributeValue::S(partition.clone()));
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));

        let mut start = match &query.after {
            Some(raw) => {
                let c = Cursor::decode(raw, &listing, &partition)?;
                Some(HashMap::from([
                    (ATTR_ID.to_string(), AttributeValue::S(c.id)),
                    (
                        partition_attr.to_string(),
                        AttributeValue::S(partition.clone()),
                    ),
                    (sort_attr.to_string(), AttributeValue::S(c.sort)),
                ]))
            }
            None => None,
        };

        // One item past `first` tells whether a next page exists. DynamoDB may return short
        // pages (1 MB cap, filtered-out items), so keep reading until we have them or the
        // index ends.
        let want = query.first + 1;
        let mut items: Vec<Item> = Vec::with_capacity(want);
        loop {
            let remaining = i32::try_from(want - items.len()).unwrap_or(i32::MAX);
            self.query_calls.fetch_add(1, Ordering::Relaxed);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#p = :p")
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(query.sort == ProductSort::Oldest)
                // With a filter, a read may discard most of what it reads: read more per call.
                .limit(if filter.is_some() {
                    remaining.max(100)
                } else {
                    remaining
                })
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    StoreError::Unavailable(format!("dynamodb query: {}", DisplayErrorContext(&e)))
                })?;
            let room = want - items.len();
            let fetched = out.items();
            items.extend(fetched.iter().take(room).cloned());
            if fetched.len() > room {
                // Read past what we keep: the page ends at the last kept item, whose cursor
                // resumes exactly there.
                break;
            }
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
                index: listing.clone(),
                partition: partition.clone(),
                sort: string_attr(item, sort_attr).unwrap_or_default(),
                id: product.id.to_string(),
            };
            page.items.push((cursor.encode(), product));
        }
        Ok(page)
    }
}
