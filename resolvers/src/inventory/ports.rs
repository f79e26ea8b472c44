use async_trait::async_trait;

use super::{NewProduct, Product};
use crate::StoreError;

/// The inventory's source of truth (PostgreSQL in the server).
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// Inserts the product and its `inventory.product.upserted` outbox event in one transaction,
    /// and returns the product as committed.
    async fn create_product(
        &self,
        seller_id: &str,
        product: NewProduct,
    ) -> Result<Product, StoreError>;

    /// The most recently created products, newest first (the original REST listing).
    async fn list_products(&self, limit: u32) -> Result<Vec<Product>, StoreError>;
}
