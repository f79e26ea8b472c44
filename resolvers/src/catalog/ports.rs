use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{StoreError, inventory::Product};

/// Listing order.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProductSort {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
}

/// One page request. `after` is an opaque cursor produced by the same reader.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProductQuery {
    pub category: Option<String>,
    pub seller_id: Option<String>,
    /// Bounds on the product's lowest variant price, in minor units.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub sort: ProductSort,
    /// Every status (a seller's own listing), not only `ACTIVE`. Needs `seller_id`.
    pub all_statuses: bool,
    /// 1..=100, already checked by the resolver.
    pub first: usize,
    pub after: Option<String>,
}

/// A full page: exactly `first` items unless the listing ended.
#[derive(Clone, Debug, Default)]
pub struct ProductPage {
    /// Each item with the cursor that resumes right after it.
    pub items: Vec<(String, Product)>,
    pub has_next_page: bool,
}

/// One product as the read model stores it, whatever its status: what live streams and
/// consistency waits look at.
#[derive(Clone, Debug, PartialEq)]
pub enum CatalogEntry {
    /// Not in the read model (yet).
    Missing,
    /// Deleted; the tombstone keeps the version that deleted it.
    Deleted { version: i64 },
    /// The whole document, in any status.
    Present(Box<Product>),
}

impl CatalogEntry {
    /// The version the read model holds (0 when it holds nothing).
    pub fn version(&self) -> i64 {
        match self {
            Self::Missing => 0,
            Self::Deleted { version } => *version,
            Self::Present(product) => product.version,
        }
    }
}

/// The read model applied `version` of product `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AppliedVersion {
    pub id: Uuid,
    pub version: i64,
}

impl AppliedVersion {
    /// Announced when some announcements may have been missed (the notifier reconnected):
    /// every waiting read and every follower re-reads.
    pub const MISSED: AppliedVersion = AppliedVersion {
        id: Uuid::nil(),
        version: 0,
    };
}

/// Tells every server instance which versions the read model applied, right after each
/// write (projector or reconciler).
#[async_trait]
pub trait CatalogChanges: Send + Sync {
    /// Announces one applied version to every instance (this one included).
    async fn announce(&self, applied: AppliedVersion) -> Result<(), StoreError>;

    /// Applied versions as they are announced, on any instance.
    fn subscribe(&self) -> broadcast::Receiver<AppliedVersion>;
}

/// The catalog read model.
#[async_trait]
pub trait CatalogReader: Send + Sync {
    /// An `ACTIVE` product, as buyers may see it.
    async fn product(&self, id: Uuid) -> Result<Option<Product>, StoreError> {
        Ok(match self.entry(id).await? {
            CatalogEntry::Present(p) if p.status == crate::inventory::ProductStatus::Active => {
                Some(*p)
            }
            _ => None,
        })
    }

    /// The stored item, any status, tombstones included; read strongly consistent.
    async fn entry(&self, id: Uuid) -> Result<CatalogEntry, StoreError>;

    /// The versions held for `ids` (tombstones included; ids the model does not hold are
    /// absent); read strongly consistent.
    async fn versions(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, i64>, StoreError>;

    /// Newest first, stable order. A malformed or foreign `after` is rejected as
    /// `Rejected::Cursor`.
    async fn products(&self, query: ProductQuery) -> Result<ProductPage, StoreError>;
}
