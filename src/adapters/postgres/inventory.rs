use async_graphql::Json;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mercado_resolvers::{
    Rejected, StoreError,
    inventory::{
        HoldOutcome, InventoryStore, NewProduct, NewVariant, Product, ProductPatch, ProductStatus,
        StockChange, StockHolds, Variant, VariantPatch,
    },
    money::Money,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{outbox, store_error};
use crate::events::{EventEnvelope, PRODUCT_DELETED, PRODUCT_UPSERTED};
use crate::workers::reconciler::DocumentSource;

/// Inventory's write side on PostgreSQL. Every write locks the product row first (then its
/// variants), so concurrent writes to one product serialise and none is lost.
#[derive(Clone)]
pub struct PgInventory {
    pool: PgPool,
    /// Prefix of public image URLs (`<base>/<key>`).
    image_base_url: String,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
    seller_id: String,
    name: String,
    description: String,
    category: String,
    info: serde_json::Value,
    status: String,
    image_key: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    id: Uuid,
    sku: String,
    name: String,
    attributes: serde_json::Value,
    price_amount: i64,
    currency: String,
    on_hand: i32,
    held: i32,
}

/// A variant row with the product it belongs to (for loading many documents at once).
#[derive(sqlx::FromRow)]
struct VariantOfProduct {
    product_id: Uuid,
    #[sqlx(flatten)]
    variant: VariantRow,
}

impl From<VariantRow> for Variant {
    fn from(r: VariantRow) -> Self {
        Variant {
            id: r.id,
            sku: r.sku,
            name: r.name,
            attributes: Json(r.attributes),
            price: Money {
                amount: r.price_amount,
                currency: r.currency.trim().to_string(),
            },
            on_hand: r.on_hand,
            held: r.held,
        }
    }
}

/// Columns of [`ProductRow`], as a literal so queries stay static strings.
macro_rules! product_columns {
    () => {
        "id, seller_id, name, description, category, info, status, image_key, version, \
         created_at, updated_at, deleted_at"
    };
}

/// A unique-violation on the SKU index means the seller already uses that SKU (the `n`th of
/// the request's new variants).
fn sku_error(n: usize) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            StoreError::Rejected {
                what: Rejected::Sku(n),
                message: "is already used by another of your variants".into(),
            }
        }
        _ => store_error(e),
    }
}

fn default_sku(product_id: Uuid) -> String {
    let hex = product_id.simple().to_string();
    format!("SKU-{}", hex[hex.len() - 12..].to_ascii_uppercase())
}

impl PgInventory {
    pub fn new(pool: PgPool, image_base_url: impl Into<String>) -> Self {
        Self {
            pool,
            image_base_url: image_base_url.into(),
        }
    }

    /// The whole document of a product row: its live variants, its image URL.
    #[tracing::instrument(name = "pg.document", skip_all, fields(db.system.name = "postgresql"))]
    async fn document(
        &self,
        conn: &mut PgConnection,
        row: ProductRow,
    ) -> Result<Product, StoreError> {
        let mut products = self.documents(conn, vec![row]).await?;
        products.pop().ok_or(StoreError::NotFound)
    }

    /// The documents of many rows, in their order, with one query for all their variants.
    #[tracing::instrument(name = "pg.documents", skip_all, fields(db.system.name = "postgresql"))]
    async fn documents(
        &self,
        conn: &mut PgConnection,
        rows: Vec<ProductRow>,
    ) -> Result<Vec<Product>, StoreError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let variants: Vec<(Uuid, VariantRow)> = sqlx::query_as::<_, VariantOfProduct>(
            "SELECT product_id, id, sku, name, attributes, price_amount, currency, on_hand, held
             FROM variants WHERE product_id = ANY($1) AND removed_at IS NULL
             ORDER BY product_id, position, created_at",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|v| (v.product_id, v.variant))
        .collect();
        let mut by_product: std::collections::HashMap<Uuid, Vec<Variant>> =
            std::collections::HashMap::with_capacity(rows.len());
        for (product_id, variant) in variants {
            by_product
                .entry(product_id)
                .or_default()
                .push(Variant::from(variant));
        }
        Ok(rows
            .into_iter()
            .map(|row| Product {
                variants: by_product.remove(&row.id).unwrap_or_default(),
                id: row.id,
                seller_id: row.seller_id,
                name: row.name,
                description: row.description,
                category: row.category,
                info: Json(row.info),
                status: ProductStatus::parse(&row.status).unwrap_or_default(),
                image_url: row
                    .image_key
                    .map(|k| format!("{}/{k}", self.image_base_url.trim_end_matches('/'))),
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
            .collect())
    }

    /// Locks one of `seller_id`'s live products for the rest of the transaction.
    #[tracing::instrument(name = "pg.lock_owned", skip_all, fields(db.system.name = "postgresql"))]
    async fn lock_owned(
        conn: &mut PgConnection,
        seller_id: &str,
        id: Uuid,
    ) -> Result<ProductRow, StoreError> {
        let row: Option<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
        match row {
            Some(r) if r.deleted_at.is_some() => Err(StoreError::NotFound),
            Some(r) if r.seller_id != seller_id => Err(StoreError::Forbidden(
                "the product belongs to another seller".into(),
            )),
            Some(r) => Ok(r),
            None => Err(StoreError::NotFound),
        }
    }

    /// Locks the product that owns a live variant (product first, then variant).
    #[tracing::instrument(name = "pg.lock_variant_owner", skip_all, fields(db.system.name = "postgresql"))]
    async fn lock_variant_owner(
        conn: &mut PgConnection,
        seller_id: &str,
        variant_id: Uuid,
    ) -> Result<ProductRow, StoreError> {
        let product_id: Option<Uuid> = sqlx::query_scalar(
            "SELECT product_id FROM variants WHERE id = $1 AND removed_at IS NULL",
        )
        .bind(variant_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
        let product_id = product_id.ok_or(StoreError::NotFound)?;
        Self::lock_owned(conn, seller_id, product_id).await
    }

    /// Bumps the version, then enqueues the new document; the caller commits.
    #[tracing::instrument(name = "pg.bump_and_emit", skip_all, fields(db.system.name = "postgresql"))]
    async fn bump_and_emit(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
    ) -> Result<Product, StoreError> {
        let row: ProductRow = sqlx::query_as(concat!(
            "UPDATE products SET version = version + 1, updated_at = now() WHERE id = $1
             RETURNING ",
            product_columns!()
        ))
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
        let product = self.document(conn, row).await?;
        outbox::enqueue(conn, &upserted_event(&product)?)
            .await
            .map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.insert_variant", skip_all, fields(db.system.name = "postgresql"))]
    async fn insert_variant(
        conn: &mut PgConnection,
        product_id: Uuid,
        seller_id: &str,
        variant: &NewVariant,
        n: usize,
    ) -> Result<(), StoreError> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO variants (id, product_id, seller_id, sku, name, attributes, price_amount,
                                   currency, on_hand, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                     (SELECT coalesce(max(position) + 1, 0) FROM variants WHERE product_id = $2))",
        )
        .bind(id)
        .bind(product_id)
        .bind(seller_id)
        .bind(&variant.sku)
        .bind(&variant.name)
        .bind(&variant.attributes)
        .bind(variant.price.amount)
        .bind(&variant.price.currency)
        .bind(variant.on_hand)
        .execute(&mut *conn)
        .await
        .map_err(sku_error(n))?;
        if variant.on_hand > 0 {
            movement(conn, id, variant.on_hand, 0, "initial stock", None).await?;
        }
        Ok(())
    }
}

impl PgInventory {
    /// How many live products `seller_id` has (the demo seed runs once per database).
    #[tracing::instrument(name = "pg.product_count", skip_all, fields(db.system.name = "postgresql"))]
    pub async fn product_count(&self, seller_id: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT count(*) FROM products WHERE seller_id = $1 AND deleted_at IS NULL",
        )
        .bind(seller_id)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)
    }
}

#[async_trait]
impl DocumentSource for PgInventory {
    #[tracing::instrument(name = "pg.documents_after", skip_all, fields(db.system.name = "postgresql"))]
    async fn documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Product, bool)>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        let deleted: Vec<bool> = rows.iter().map(|r| r.deleted_at.is_some()).collect();
        let products = self.documents(&mut conn, rows).await?;
        Ok(products.into_iter().zip(deleted).collect())
    }
}

/// Locks the product owning `variant_id` (lock order everywhere: product, then variant, so
/// concurrent holds and stock changes cannot deadlock). `None` when there is no such variant.
async fn lock_product_of_variant(
    conn: &mut PgConnection,
    variant_id: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    sqlx::query_scalar(
        "SELECT p.id FROM products p JOIN variants v ON v.product_id = p.id
         WHERE v.id = $1 AND p.deleted_at IS NULL
         FOR UPDATE OF p",
    )
    .bind(variant_id)
    .fetch_optional(conn)
    .await
    .map_err(store_error)
}

/// Appends one row to the stock ledger.
async fn movement(
    conn: &mut PgConnection,
    variant_id: Uuid,
    on_hand_delta: i32,
    held_delta: i32,
    reason: &str,
    order_id: Option<Uuid>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO stock_movements (variant_id, on_hand_delta, held_delta, reason, order_id)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(variant_id)
    .bind(on_hand_delta)
    .bind(held_delta)
    .bind(reason)
    .bind(order_id)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
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
    #[tracing::instrument(name = "pg.create_product", skip_all, fields(db.system.name = "postgresql"))]
    async fn create_product(
        &self,
        seller_id: &str,
        new: NewProduct,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let id = Uuid::now_v7();
        let row: ProductRow = sqlx::query_as(concat!(
            "INSERT INTO products (id, seller_id, name, description, category, info, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING ",
            product_columns!()
        ))
        .bind(id)
        .bind(seller_id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(&new.category)
        .bind(&new.info)
        .bind(new.status.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if new.variants.is_empty() {
            let default = NewVariant {
                sku: default_sku(id),
                name: "Default".into(),
                attributes: serde_json::json!({}),
                price: Money {
                    amount: 0,
                    currency: "EUR".into(),
                },
                on_hand: 0,
            };
            Self::insert_variant(&mut tx, id, seller_id, &default, 0).await?;
        }
        for (i, variant) in new.variants.iter().enumerate() {
            Self::insert_variant(&mut tx, id, seller_id, variant, i).await?;
        }
        let product = self.document(&mut tx, row).await?;
        outbox::enqueue(&mut tx, &upserted_event(&product)?)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.list_products", skip_all, fields(db.system.name = "postgresql"))]
    async fn list_products(&self, limit: u32) -> Result<Vec<Product>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        self.documents(&mut conn, rows).await
    }

    #[tracing::instrument(name = "pg.owned_product", skip_all, fields(db.system.name = "postgresql"))]
    async fn owned_product(&self, seller_id: &str, id: Uuid) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = Self::lock_owned(&mut tx, seller_id, id).await?;
        let product = self.document(&mut tx, row).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.update_product", skip_all, fields(db.system.name = "postgresql"))]
    async fn update_product(
        &self,
        seller_id: &str,
        id: Uuid,
        expected_version: i64,
        patch: ProductPatch,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = Self::lock_owned(&mut tx, seller_id, id).await?;
        if row.version != expected_version {
            return Err(StoreError::StaleVersion {
                current: row.version,
            });
        }
        let category = patch.category.unwrap_or(row.category);
        let mut info = patch.info.unwrap_or(row.info);
        if let serde_json::Value::Object(map) = &mut info {
            map.insert(
                "category".into(),
                serde_json::Value::String(category.clone()),
            );
        }
        sqlx::query(
            "UPDATE products SET name = $2, description = $3, category = $4, info = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(patch.name.unwrap_or(row.name))
        .bind(patch.description.unwrap_or(row.description))
        .bind(&category)
        .bind(&info)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        let product = self.bump_and_emit(&mut tx, id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.delete_product", skip_all, fields(db.system.name = "postgresql"))]
    async fn delete_product(
        &self,
        seller_id: &str,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = Self::lock_owned(&mut tx, seller_id, id).await?;
        if let Some(expected) = expected_version
            && row.version != expected
        {
            return Err(StoreError::StaleVersion {
                current: row.version,
            });
        }
        let row: ProductRow = sqlx::query_as(concat!(
            "UPDATE products SET deleted_at = now(), version = version + 1, updated_at = now()
             WHERE id = $1 RETURNING ",
            product_columns!()
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let product = self.document(&mut tx, row).await?;
        // Its variants leave with it, freeing their SKUs (held units are still settled by id).
        sqlx::query(
            "UPDATE variants SET removed_at = now() WHERE product_id = $1 AND removed_at IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        let event = EventEnvelope::new(
            PRODUCT_DELETED,
            product.id,
            product.version,
            serde_json::json!({"id": product.id, "version": product.version}),
        );
        outbox::enqueue(&mut tx, &event)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.set_status", skip_all, fields(db.system.name = "postgresql"))]
    async fn set_status(
        &self,
        seller_id: &str,
        id: Uuid,
        status: ProductStatus,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = Self::lock_owned(&mut tx, seller_id, id).await?;
        if row.status == status.as_str() {
            let product = self.document(&mut tx, row).await?;
            tx.commit().await.map_err(store_error)?;
            return Ok(product);
        }
        sqlx::query("UPDATE products SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let product = self.bump_and_emit(&mut tx, id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.add_variant", skip_all, fields(db.system.name = "postgresql"))]
    async fn add_variant(
        &self,
        seller_id: &str,
        product_id: Uuid,
        variant: NewVariant,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        Self::lock_owned(&mut tx, seller_id, product_id).await?;
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM variants WHERE product_id = $1 AND removed_at IS NULL",
        )
        .bind(product_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if count >= mercado_resolvers::inventory::VARIANTS_MAX as i64 {
            return Err(StoreError::Rejected {
                what: Rejected::Product,
                message: "the product already has the most variants allowed".into(),
            });
        }
        Self::insert_variant(&mut tx, product_id, seller_id, &variant, 0).await?;
        let product = self.bump_and_emit(&mut tx, product_id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.update_variant", skip_all, fields(db.system.name = "postgresql"))]
    async fn update_variant(
        &self,
        seller_id: &str,
        variant_id: Uuid,
        patch: VariantPatch,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let product = Self::lock_variant_owner(&mut tx, seller_id, variant_id).await?;
        sqlx::query(
            "UPDATE variants SET sku = coalesce($2, sku), name = coalesce($3, name),
                    attributes = coalesce($4, attributes),
                    price_amount = coalesce($5, price_amount), currency = coalesce($6, currency)
             WHERE id = $1",
        )
        .bind(variant_id)
        .bind(&patch.sku)
        .bind(&patch.name)
        .bind(&patch.attributes)
        .bind(patch.price.as_ref().map(|p| p.amount))
        .bind(patch.price.as_ref().map(|p| p.currency.clone()))
        .execute(&mut *tx)
        .await
        .map_err(sku_error(0))?;
        let product = self.bump_and_emit(&mut tx, product.id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.remove_variant", skip_all, fields(db.system.name = "postgresql"))]
    async fn remove_variant(
        &self,
        seller_id: &str,
        variant_id: Uuid,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let product = Self::lock_variant_owner(&mut tx, seller_id, variant_id).await?;
        let (live, held): (i64, i32) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM variants WHERE product_id = $1 AND removed_at IS NULL),
                    (SELECT held FROM variants WHERE id = $2)",
        )
        .bind(product.id)
        .bind(variant_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let refuse = |message: &str| StoreError::Rejected {
            what: Rejected::Variant,
            message: message.into(),
        };
        if live <= 1 {
            return Err(refuse("a product keeps at least one variant"));
        }
        if held > 0 {
            return Err(refuse("units of this variant are held by orders in flight"));
        }
        sqlx::query("UPDATE variants SET removed_at = now() WHERE id = $1")
            .bind(variant_id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let product = self.bump_and_emit(&mut tx, product.id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.change_stock", skip_all, fields(db.system.name = "postgresql"))]
    async fn change_stock(
        &self,
        seller_id: &str,
        variant_id: Uuid,
        change: StockChange,
        reason: &str,
    ) -> Result<Product, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let product = Self::lock_variant_owner(&mut tx, seller_id, variant_id).await?;
        let (current, held): (i32, i32) =
            sqlx::query_as("SELECT on_hand, held FROM variants WHERE id = $1")
                .bind(variant_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(store_error)?;
        let target = change.target(current, held)?;
        if target != current {
            sqlx::query("UPDATE variants SET on_hand = $2 WHERE id = $1")
                .bind(variant_id)
                .bind(target)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            movement(&mut tx, variant_id, target - current, 0, reason, None).await?;
        }
        let product = self.bump_and_emit(&mut tx, product.id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(product)
    }

    #[tracing::instrument(name = "pg.set_image", skip_all, fields(db.system.name = "postgresql"))]
    async fn set_image(
        &self,
        product_id: Uuid,
        seller_id: &str,
        key: &str,
    ) -> Result<Option<Product>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = match Self::lock_owned(&mut tx, seller_id, product_id).await {
            Ok(row) => row,
            Err(StoreError::NotFound | StoreError::Forbidden(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if row.image_key.as_deref() == Some(key) {
            return Ok(None);
        }
        sqlx::query("UPDATE products SET image_key = $2 WHERE id = $1")
            .bind(product_id)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let product = self.bump_and_emit(&mut tx, product_id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(product))
    }
}

#[async_trait]
impl StockHolds for PgInventory {
    #[tracing::instrument(name = "pg.hold", skip_all, fields(db.system.name = "postgresql"))]
    async fn hold(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        quantity: i32,
        expires_at: DateTime<Utc>,
    ) -> Result<HoldOutcome, StoreError> {
        // Decided without the product's lock when it can be: a repeated hold (this order
        // already asked), or too little available in a committed state, which is as good a
        // reason to refuse as the locked one. Under a rush for one variant most attempts are
        // refusals that would otherwise queue behind that lock.
        let (existing, available): (Option<String>, Option<i32>) = sqlx::query_as(
            "SELECT (SELECT status FROM stock_holds WHERE order_id = $1 AND variant_id = $2),
                    (SELECT on_hand - held FROM variants WHERE id = $2 AND removed_at IS NULL)",
        )
        .bind(order_id)
        .bind(variant_id)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        if existing.is_some() {
            // Idempotent: this order already asked for this variant.
            return Ok(HoldOutcome::Held);
        }
        if available.is_none_or(|a| a < quantity) {
            return Ok(HoldOutcome::Insufficient);
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        if lock_product_of_variant(&mut tx, variant_id)
            .await?
            .is_none()
        {
            return Ok(HoldOutcome::Insufficient);
        }
        // The one conditional statement: reserve only what is available.
        let product_id: Option<Uuid> = sqlx::query_scalar(
            "UPDATE variants SET held = held + $2
             WHERE id = $1 AND removed_at IS NULL AND on_hand - held >= $2
             RETURNING product_id",
        )
        .bind(variant_id)
        .bind(quantity)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(product_id) = product_id else {
            return Ok(HoldOutcome::Insufficient);
        };
        sqlx::query(
            "INSERT INTO stock_holds (order_id, variant_id, quantity, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(order_id)
        .bind(variant_id)
        .bind(quantity)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        movement(&mut tx, variant_id, 0, quantity, "hold", Some(order_id)).await?;
        self.bump_and_emit(&mut tx, product_id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(HoldOutcome::Held)
    }

    #[tracing::instrument(name = "pg.release", skip_all, fields(db.system.name = "postgresql"))]
    async fn release(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.settle(order_id, variant_id, false, reason).await
    }

    #[tracing::instrument(name = "pg.commit", skip_all, fields(db.system.name = "postgresql"))]
    async fn commit(&self, order_id: Uuid, variant_id: Uuid) -> Result<bool, StoreError> {
        self.settle(order_id, variant_id, true, "sale").await
    }

    #[tracing::instrument(name = "pg.release_expired", skip_all, fields(db.system.name = "postgresql"))]
    async fn release_expired(&self, limit: u32) -> Result<usize, StoreError> {
        let expired: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT order_id, variant_id FROM stock_holds
             WHERE status = 'HELD' AND expires_at < now()
             ORDER BY expires_at LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let mut released = 0;
        for (order_id, variant_id) in expired {
            if self
                .settle(order_id, variant_id, false, "hold expired")
                .await?
            {
                released += 1;
            }
        }
        Ok(released)
    }
}

impl PgInventory {
    /// Ends an active hold: `sold` turns it into a sale, otherwise it is given back.
    #[tracing::instrument(name = "pg.settle", skip_all, fields(db.system.name = "postgresql"))]
    async fn settle(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        sold: bool,
        reason: &str,
    ) -> Result<bool, StoreError> {
        // Nothing held for this order (a refused or already settled line): nothing to lock.
        // Only this order's own leased steps create its holds, so none can appear meanwhile.
        let held: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM stock_holds
                            WHERE order_id = $1 AND variant_id = $2 AND status = 'HELD')",
        )
        .bind(order_id)
        .bind(variant_id)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        if !held {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        lock_product_of_variant(&mut tx, variant_id).await?;
        let quantity: Option<i32> = sqlx::query_scalar(
            "UPDATE stock_holds SET status = $3, updated_at = now()
             WHERE order_id = $1 AND variant_id = $2 AND status = 'HELD'
             RETURNING quantity",
        )
        .bind(order_id)
        .bind(variant_id)
        .bind(if sold { "COMMITTED" } else { "RELEASED" })
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(quantity) = quantity else {
            return Ok(false);
        };
        let on_hand_delta = if sold { -quantity } else { 0 };
        let product_id: Uuid = sqlx::query_scalar(
            "UPDATE variants SET held = held - $2, on_hand = on_hand + $3 WHERE id = $1
             RETURNING product_id",
        )
        .bind(variant_id)
        .bind(quantity)
        .bind(on_hand_delta)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        movement(
            &mut tx,
            variant_id,
            on_hand_delta,
            -quantity,
            reason,
            Some(order_id),
        )
        .await?;
        // A deleted product stays deleted: its stock settles without a new version or event
        // (an upsert after the tombstone would bring it back into the catalog).
        let deleted: bool =
            sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM products WHERE id = $1")
                .bind(product_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(store_error)?;
        if !deleted {
            self.bump_and_emit(&mut tx, product_id).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }
}
