use async_trait::async_trait;
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

/// The catalog read model.
#[async_trait]
pub trait CatalogReader: Send + Sync {
    async fn product(&self, id: Uuid) -> Result<Option<Product>, StoreError>;

    /// Newest first, stable order. A malformed or foreign `after` is `StoreError::Invalid` on
    /// field `after`.
    async fn products(&self, query: ProductQuery) -> Result<ProductPage, StoreError>;
}
