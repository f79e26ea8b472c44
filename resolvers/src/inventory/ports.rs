use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    NewProduct, NewVariant, Product, ProductPatch, ProductStatus, StockChange, VariantPatch,
};
use crate::StoreError;

/// The inventory's source of truth (PostgreSQL in the server). Every write is one transaction
/// that bumps the product's version and enqueues its outbox event with the whole document.
/// Methods taking `seller_id` act only on that seller's products: another seller's product is
/// [`StoreError::Forbidden`], a missing or deleted one [`StoreError::NotFound`].
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// Inserts the product (with one default variant when it has none) and its
    /// `inventory.product.upserted` event; returns the product as committed.
    async fn create_product(
        &self,
        seller_id: &str,
        product: NewProduct,
    ) -> Result<Product, StoreError>;

    /// The most recently created live products, newest first (the original REST listing).
    async fn list_products(&self, limit: u32) -> Result<Vec<Product>, StoreError>;

    /// One of the seller's own live products.
    async fn owned_product(&self, seller_id: &str, id: Uuid) -> Result<Product, StoreError>;

    /// Changes fields if the stored version is `expected_version`, else
    /// [`StoreError::StaleVersion`].
    async fn update_product(
        &self,
        seller_id: &str,
        id: Uuid,
        expected_version: i64,
        patch: ProductPatch,
    ) -> Result<Product, StoreError>;

    /// Soft-deletes the product and emits `inventory.product.deleted`.
    async fn delete_product(
        &self,
        seller_id: &str,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<Product, StoreError>;

    async fn set_status(
        &self,
        seller_id: &str,
        id: Uuid,
        status: ProductStatus,
    ) -> Result<Product, StoreError>;

    async fn add_variant(
        &self,
        seller_id: &str,
        product_id: Uuid,
        variant: NewVariant,
    ) -> Result<Product, StoreError>;

    async fn update_variant(
        &self,
        seller_id: &str,
        variant_id: Uuid,
        patch: VariantPatch,
    ) -> Result<Product, StoreError>;

    /// Removes a variant (not the last one, nor one with stock held by orders).
    async fn remove_variant(
        &self,
        seller_id: &str,
        variant_id: Uuid,
    ) -> Result<Product, StoreError>;

    /// Changes `onHand` and appends a stock movement with `reason`. `onHand` never drops below
    /// what is held.
    async fn change_stock(
        &self,
        seller_id: &str,
        variant_id: Uuid,
        change: StockChange,
        reason: &str,
    ) -> Result<Product, StoreError>;

    /// Sets the product's image from an uploaded object key (S3's notification). Returns
    /// `None` when the key names no live product or is already the product's image.
    async fn set_image(
        &self,
        product_id: Uuid,
        seller_id: &str,
        key: &str,
    ) -> Result<Option<Product>, StoreError>;
}

/// What a hold request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldOutcome {
    /// The units are reserved (now, or by an earlier identical request).
    Held,
    /// Not enough available stock: nothing was reserved.
    Insufficient,
}

/// Stock reservations for orders (the purchase saga calls these). Each call is idempotent for
/// its `(order_id, variant_id)`.
#[async_trait]
pub trait StockHolds: Send + Sync {
    /// Reserves `quantity` units until `expires_at`, in one conditional statement
    /// (`held = held + n WHERE on_hand - held >= n`).
    async fn hold(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        quantity: i32,
        expires_at: DateTime<Utc>,
    ) -> Result<HoldOutcome, StoreError>;

    /// Gives a hold back. False when there was no active hold.
    async fn release(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        reason: &str,
    ) -> Result<bool, StoreError>;

    /// Turns a hold into a sale (`on_hand -= n, held -= n`). False when there was no active hold.
    async fn commit(&self, order_id: Uuid, variant_id: Uuid) -> Result<bool, StoreError>;

    /// Releases up to `limit` holds past their expiry; returns how many.
    async fn release_expired(&self, limit: u32) -> Result<usize, StoreError>;
}

/// A presigned upload the browser performs itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// Object storage for product images (S3 in the server).
#[async_trait]
pub trait ImageStorage: Send + Sync {
    /// A URL that accepts one PUT of exactly `content_length` bytes of `content_type` at `key`.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
    ) -> Result<PresignedUpload, StoreError>;

    /// Largest upload accepted, in bytes.
    fn max_bytes(&self) -> i64;
}
