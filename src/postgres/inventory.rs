use async_graphql::Json;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mercado_resolvers::{
    StoreError,
    inventory::{InventoryStore, NewProduct, Product},
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{outbox, store_error};
use crate::events::{EventEnvelope, PRODUCT_UPSERTED};

/// Inventory's write side on PostgreSQL.
#[derive(Clone)]
pub struct PgInventory {
    pool: PgPool,
}

impl PgInventory {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
    seller_id: String,
    name: String,
    category: String,
    info: serde_json::Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(r: ProductRow) -> Self {
        Product {
            id: r.id,
            seller_id: r.seller_id,
            name: r.name,
            category: r.category,
            info: Json(r.info),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Columns of [`ProductRow`], as a literal so queries stay static strings.
macro_rules! product_columns {
    () => {
        "id, seller_id, name, category, info, version, created_at, updated_at"
    };
}

/// The event that carries a product's whole document to the read model.
pub(crate) fn upserted_event(product: &Product) -> Result<EventEnvelope, StoreError> {
    let payload = serde_json::to_value(product)
        .map_err(|e| StoreError::Internal(format!("serialize product: {e}")))?;
    Ok(EventEnvelope::new(
        PRODUCT_UPSERTED,
        product.id,
        product.version,
        payload,
    ))
}

#[async_trait]
impl InventoryStore for PgInventory {
    async fn create_product(
        &self,
        seller_id: &str,
        new: NewProduct,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row: ProductRow = sqlx::query_as(concat!(
            "INSERT INTO products (id, seller_id, name, category, info)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING ",
            product_columns!()
        ))
        .bind(Uuid::now_v7())
        .bind(seller_id)
        .bind(&new.name)
        .bind(&new.category)
        .bind(&new.info)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let product = Product::from(row);
        outbox::enqueue(&mut tx, &upserted_event(&product)?)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    async fn list_products(&self, limit: u32) -> Result<Vec<Product>, StoreError> {
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products ORDER BY created_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().map(Product::from).collect())
    }
}
