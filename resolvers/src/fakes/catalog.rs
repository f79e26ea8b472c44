//! The catalog read model in memory, and its applied-version announcements.
//!
//! Like the DynamoDB table, it holds one entry per product in any status (tombstones keep the
//! version that deleted them) and applies a write only over a missing entry or an older
//! version, announcing each applied write on its own [`CatalogChanges`] channel. Listings pick
//! the same "index" the real reader would (seller, category or the whole listing) and their
//! cursors name it, so a cursor from another listing is refused the same way.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::poisoned;
use crate::{
    Rejected, StoreError,
    catalog::{
        AppliedVersion, CatalogChanges, CatalogEntry, CatalogReader, ProductPage, ProductQuery,
        ProductSort,
    },
    inventory::{Product, ProductStatus, Variant},
    money::Money,
};

/// Announcements buffered per subscriber before it lags (as the NOTIFY listener's channel).
const CHANGES_CAPACITY: usize = 1024;

/// An `ACTIVE` product at version 1 with one variant priced `price` EUR minor units and 10
/// units on hand, created now: adjust its public fields for the case at hand.
pub fn sample_product(seller_id: &str, name: &str, category: &str, price: i64) -> Product {
    let now = Utc::now();
    Product {
        id: Uuid::new_v4(),
        seller_id: seller_id.to_string(),
        name: name.to_string(),
        description: String::new(),
        category: category.to_string(),
        info: async_graphql::Json(serde_json::json!({ "category": category })),
        status: ProductStatus::Active,
        image_url: None,
        variants: vec![Variant {
            id: Uuid::new_v4(),
            sku: format!("SKU-{}", Uuid::new_v4().simple()),
            name: "Default".into(),
            attributes: async_graphql::Json(serde_json::json!({})),
            price: Money {
                amount: price,
                currency: "EUR".into(),
            },
            on_hand: 10,
            held: 0,
        }],
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// The catalog read model and its announcement channel.
pub struct FakeCatalog {
    entries: Mutex<HashMap<Uuid, CatalogEntry>>,
    changes: broadcast::Sender<AppliedVersion>,
    entry_calls: AtomicU64,
    query_calls: AtomicU64,
    unavailable: AtomicBool,
    /// How long an entry read takes (0: at once), to let reads overlap as real ones do.
    read_delay_ms: AtomicU64,
}

impl Default for FakeCatalog {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            changes: broadcast::channel(CHANGES_CAPACITY).0,
            entry_calls: AtomicU64::new(0),
            query_calls: AtomicU64::new(0),
            unavailable: AtomicBool::new(false),
            read_delay_ms: AtomicU64::new(0),
        }
    }
}

impl FakeCatalog {
    /// Writes the product's document unless this or a newer version is held (as the
    /// projector does); an applied write is announced. True when it applied.
    pub fn put(&self, product: Product) -> bool {
        let (id, version) = (product.id, product.version);
        self.apply(id, version, CatalogEntry::Present(Box::new(product)))
    }

    /// Replaces the entry with a tombstone at `version`, under the same version guard.
    pub fn tombstone(&self, id: Uuid, version: i64) -> bool {
        self.apply(id, version, CatalogEntry::Deleted { version })
    }

    fn apply(&self, id: Uuid, version: i64, entry: CatalogEntry) -> bool {
        let applied = match self.entries.lock() {
            Ok(mut entries) => {
                let newer = entries.get(&id).is_none_or(|held| held.version() < version);
                if newer {
                    entries.insert(id, entry);
                }
                newer
            }
            Err(_) => false,
        };
        if applied {
            // No subscriber is fine: nobody is waiting.
            let _ = self.changes.send(AppliedVersion { id, version });
        }
        applied
    }

    /// The entry held for `id` now (no call is counted).
    pub fn held(&self, id: Uuid) -> CatalogEntry {
        self.entries
            .lock()
            .ok()
            .and_then(|e| e.get(&id).cloned())
            .unwrap_or(CatalogEntry::Missing)
    }

    /// Single-entry reads made so far (`entry`), as the real reader counts `GetItem`s.
    pub fn entry_calls(&self) -> u64 {
        self.entry_calls.load(Ordering::Relaxed)
    }

    /// Listing reads made so far (`products`).
    pub fn query_calls(&self) -> u64 {
        self.query_calls.load(Ordering::Relaxed)
    }

    /// While set, every read answers `StoreError::Unavailable` (the table does not answer).
    /// Makes every entry read take `delay` (reads then overlap, as over a network).
    pub fn set_read_delay(&self, delay: std::time::Duration) {
        self.read_delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::Relaxed);
    }

    fn check_available(&self) -> Result<(), StoreError> {
        if self.unavailable.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("fake catalog is down".into()));
        }
        Ok(())
    }
}

/// `<created>#<id>`, the real table's sort key: unique, and ordered as text.
fn sort_key(product: &Product) -> String {
    format!(
        "{}#{}",
        product.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        product.id
    )
}

/// The listing a query reads: the index the real reader would pick, and its partition.
fn listing(query: &ProductQuery) -> (String, String) {
    let direction = match query.sort {
        ProductSort::Newest => "N",
        ProductSort::Oldest => "O",
    };
    let (index, partition) = match (&query.category, &query.seller_id) {
        (_, Some(seller)) if query.all_statuses => ("by_seller", seller.clone()),
        (Some(category), _) => ("by_category", category.clone()),
        (None, Some(seller)) => ("by_seller", seller.clone()),
        (None, None) => ("by_listing", "LISTED".to_string()),
    };
    (format!("{index}/{direction}"), partition)
}

fn encode_cursor(listing: &str, partition: &str, key: &str) -> String {
    let parts = [listing, partition, key];
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&parts).unwrap_or_default())
}

/// The sort key a cursor resumes after, if the cursor is ours and names this listing.
fn decode_cursor(raw: &str, listing: &str, partition: &str) -> Result<String, StoreError> {
    let invalid = |message: &str| StoreError::Rejected {
        what: Rejected::Cursor,
        message: message.into(),
    };
    let parts: Vec<String> = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("is not a cursor from this API"))?;
    match parts.as_slice() {
        [l, p, key] if l == listing && p == partition => Ok(key.clone()),
        [_, _, _] => Err(invalid("belongs to another listing")),
        _ => Err(invalid("is not a cursor from this API")),
    }
}

fn matches(product: &Product, query: &ProductQuery) -> bool {
    let every_status = query.all_statuses && query.seller_id.is_some();
    if !every_status && product.status != ProductStatus::Active {
        return false;
    }
    if query
        .category
        .as_ref()
        .is_some_and(|c| *c != product.category)
        || query
            .seller_id
            .as_ref()
            .is_some_and(|s| *s != product.seller_id)
    {
        return false;
    }
    if query.min_price.is_none() && query.max_price.is_none() {
        return true;
    }
    // As in the table: a product without variants has no price, so no price filter keeps it.
    product.lowest_price().is_some_and(|price| {
        query.min_price.is_none_or(|min| price >= min)
            && query.max_price.is_none_or(|max| price <= max)
    })
}

#[async_trait]
impl CatalogReader for FakeCatalog {
    async fn entry(&self, id: Uuid) -> Result<CatalogEntry, StoreError> {
        self.check_available()?;
        self.entry_calls.fetch_add(1, Ordering::Relaxed);
        let delay = self.read_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        Ok(self
            .entries
            .lock()
            .map_err(|_| poisoned())?
            .get(&id)
            .cloned()
            .unwrap_or(CatalogEntry::Missing))
    }

    async fn versions(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, i64>, StoreError> {
        self.check_available()?;
        let entries = self.entries.lock().map_err(|_| poisoned())?;
        Ok(ids
            .iter()
            .filter_map(|id| entries.get(id).map(|e| (*id, e.version())))
            .collect())
    }

    async fn products(&self, query: ProductQuery) -> Result<ProductPage, StoreError> {
        self.check_available()?;
        self.query_calls.fetch_add(1, Ordering::Relaxed);
        let (listing, partition) = listing(&query);
        let after = query
            .after
            .as_deref()
            .map(|raw| decode_cursor(raw, &listing, &partition))
            .transpose()?;
        let mut found: Vec<(String, Product)> = self
            .entries
            .lock()
            .map_err(|_| poisoned())?
            .values()
            .filter_map(|entry| match entry {
                CatalogEntry::Present(p) if matches(p, &query) => {
                    Some((sort_key(p), (**p).clone()))
                }
                _ => None,
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        if query.sort == ProductSort::Newest {
            found.reverse();
        }
        let newest_first = query.sort == ProductSort::Newest;
        let mut rest: Vec<(String, Product)> = found
            .into_iter()
            .filter(|(key, _)| match &after {
                None => true,
                Some(after) if newest_first => key < after,
                Some(after) => key > after,
            })
            .take(query.first + 1)
            .collect();
        let has_next_page = rest.len() > query.first;
        rest.truncate(query.first);
        Ok(ProductPage {
            items: rest
                .into_iter()
                .map(|(key, p)| (encode_cursor(&listing, &partition, &key), p))
                .collect(),
            has_next_page,
        })
    }
}

#[async_trait]
impl CatalogChanges for FakeCatalog {
    async fn announce(&self, applied: AppliedVersion) -> Result<(), StoreError> {
        let _ = self.changes.send(applied);
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<AppliedVersion> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn only_newer_versions_apply_and_each_applied_write_is_announced() {
        let catalog = FakeCatalog::default();
        let mut heard = catalog.subscribe();
        let mut p = sample_product("s", "Lamp", "lighting", 100);
        p.version = 2;
        assert!(catalog.put(p.clone()));
        let mut older = p.clone();
        older.version = 1;
        older.name = "Old".into();
        assert!(!catalog.put(older));
        assert!(!catalog.tombstone(p.id, 2));
        assert!(catalog.tombstone(p.id, 3));
        assert_eq!(heard.recv().await.unwrap().version, 2);
        assert_eq!(heard.recv().await.unwrap().version, 3);
        assert!(heard.try_recv().is_err());
        assert_eq!(
            catalog.entry(p.id).await.unwrap(),
            CatalogEntry::Deleted { version: 3 }
        );
        assert_eq!(catalog.versions(&[p.id]).await.unwrap()[&p.id], 3);
        assert_eq!(catalog.product(p.id).await.unwrap(), None);
    }
}
