//! The inventory's source of truth in memory, behaving as the PostgreSQL adapter
//! (`src/adapters/postgres/inventory.rs`) does.
//!
//! Every write is all or nothing (checked in full before anything changes, as a rolled-back
//! transaction leaves nothing), bumps the product's version and records its outbox event in
//! [`FakeInventory::events`]. Ownership: a missing or soft-deleted product is
//! [`StoreError::NotFound`], another seller's [`StoreError::Forbidden`]. SKUs are unique per
//! seller among variants not removed; deleting a product removes its variants (freeing their
//! SKUs), and stock settled after a deletion makes no new version or event. Refusals are said in the store's terms
//! ([`Rejected`]); what the database's CHECK constraints would refuse is
//! [`StoreError::Internal`], so a resolver that forgets a rule fails here as in production.
//! Holds are idempotent per (order, variant), whatever became of the hold.

use std::{
    collections::HashMap,
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::Json;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Clock, poisoned};
use crate::{
    Rejected, StoreError,
    inventory::{
        HoldOutcome, InventoryStore, NewProduct, NewVariant, Product, ProductPatch, ProductStatus,
        StockChange, StockHolds, VARIANTS_MAX, Variant, VariantPatch,
    },
    money::Money,
};

/// Prefix of image URLs unless told otherwise (the host [`super::FakeImages`] presigns for).
pub const DEFAULT_IMAGE_BASE_URL: &str = "https://images.fake";

/// An event written to the outbox with a change.
#[derive(Clone, Debug, PartialEq)]
pub enum Emitted {
    /// `inventory.product.upserted`, carrying the whole document.
    Upserted(Box<Product>),
    /// `inventory.product.deleted`.
    Deleted { id: Uuid, version: i64 },
}

impl Emitted {
    pub fn product_id(&self) -> Uuid {
        match self {
            Self::Upserted(p) => p.id,
            Self::Deleted { id, .. } => *id,
        }
    }

    pub fn version(&self) -> i64 {
        match self {
            Self::Upserted(p) => p.version,
            Self::Deleted { version, .. } => *version,
        }
    }
}

/// One row of the stock ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub variant_id: Uuid,
    pub on_hand_delta: i32,
    pub held_delta: i32,
    pub reason: String,
    pub order_id: Option<Uuid>,
}

/// Where a hold stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldStatus {
    Held,
    Released,
    Committed,
}

struct Hold {
    quantity: i32,
    expires_at: DateTime<Utc>,
    status: HoldStatus,
}

#[derive(Clone)]
struct VariantRow {
    variant: Variant,
    removed: bool,
}

/// A product row: the document's own fields (its `variants` and `image_url` are derived), the
/// image key, the soft-delete mark, and every variant ever added, in position order.
#[derive(Clone)]
struct Row {
    product: Product,
    image_key: Option<String>,
    deleted: bool,
    variants: Vec<VariantRow>,
}

impl Row {
    fn live_variants(&self) -> impl Iterator<Item = &Variant> {
        self.variants
            .iter()
            .filter(|v| !v.removed)
            .map(|v| &v.variant)
    }

    fn variant_mut(&mut self, id: Uuid) -> Result<&mut Variant, StoreError> {
        self.variants
            .iter_mut()
            .find(|v| v.variant.id == id)
            .map(|v| &mut v.variant)
            .ok_or(StoreError::NotFound)
    }
}

#[derive(Default)]
struct Inner {
    products: HashMap<Uuid, Row>,
    holds: HashMap<(Uuid, Uuid), Hold>,
    movements: Vec<Movement>,
    events: Vec<Emitted>,
    /// Each write happens strictly after the previous, so "newest first" is certain.
    clock: Clock,
}

/// Products, variants, the stock ledger, holds and the outbox, in memory.
pub struct FakeInventory {
    inner: Mutex<Inner>,
    image_base_url: String,
    unavailable: AtomicBool,
}

impl Default for FakeInventory {
    fn default() -> Self {
        Self::with_image_base_url(DEFAULT_IMAGE_BASE_URL)
    }
}

fn internal(constraint: &str) -> StoreError {
    StoreError::Internal(format!("violates check constraint: {constraint}"))
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The `products` table's CHECK constraints.
fn check_product(p: &Product) -> Result<(), StoreError> {
    if !(1..=200).contains(&chars(&p.name)) {
        return Err(internal("products.name"));
    }
    if !(1..=100).contains(&chars(&p.category)) {
        return Err(internal("products.category"));
    }
    if chars(&p.description) > 5000 {
        return Err(internal("products.description"));
    }
    if !p.info.0.is_object() {
        return Err(internal("products.info"));
    }
    Ok(())
}

/// The `variants` table's CHECK constraints (and `currency char(3)`).
fn check_variant(v: &Variant) -> Result<(), StoreError> {
    if !(1..=64).contains(&chars(&v.sku)) {
        return Err(internal("variants.sku"));
    }
    if chars(&v.name) > 200 {
        return Err(internal("variants.name"));
    }
    if !v.attributes.0.is_object() {
        return Err(internal("variants.attributes"));
    }
    if v.price.amount < 0 {
        return Err(internal("variants.price_amount"));
    }
    if chars(&v.price.currency) > 3 {
        return Err(StoreError::Internal(
            "value too long for type character(3)".into(),
        ));
    }
    if v.on_hand < 0 || v.held < 0 || v.held > v.on_hand {
        return Err(internal("variants.on_hand/held"));
    }
    Ok(())
}

fn check_reason(reason: &str) -> Result<(), StoreError> {
    if (1..=200).contains(&chars(reason)) {
        Ok(())
    } else {
        Err(internal("stock_movements.reason"))
    }
}

fn sku_taken(n: usize) -> StoreError {
    StoreError::Rejected {
        what: Rejected::Sku(n),
        message: "is already used by another of your variants".into(),
    }
}

/// As the adapter names a product's default variant.
fn default_sku(product_id: Uuid) -> String {
    let hex = product_id.simple().to_string();
    format!("SKU-{}", hex[hex.len() - 12..].to_ascii_uppercase())
}

fn new_variant(v: NewVariant) -> Variant {
    Variant {
        id: Uuid::now_v7(),
        sku: v.sku,
        name: v.name,
        attributes: Json(v.attributes),
        price: Money {
            amount: v.price.amount,
            // `char(3)` pads; the adapter trims what it reads back.
            currency: v.price.currency.trim().to_string(),
        },
        on_hand: v.on_hand,
        held: 0,
    }
}

impl Inner {
    /// Whether `seller_id` has a variant (other than `except`) not removed with this SKU.
    fn sku_used(&self, seller_id: &str, sku: &str, except: Option<Uuid>) -> bool {
        self.products
            .values()
            .filter(|r| r.product.seller_id == seller_id)
            .flat_map(|r| r.variants.iter())
            .any(|v| !v.removed && v.variant.sku == sku && Some(v.variant.id) != except)
    }

    /// One of `seller_id`'s live products (the adapter's `lock_owned`).
    fn owned(&self, seller_id: &str, id: Uuid) -> Result<&Row, StoreError> {
        match self.products.get(&id) {
            Some(r) if r.deleted => Err(StoreError::NotFound),
            Some(r) if r.product.seller_id != seller_id => Err(StoreError::Forbidden(
                "the product belongs to another seller".into(),
            )),
            Some(r) => Ok(r),
            None => Err(StoreError::NotFound),
        }
    }

    /// The product holding a variant not removed (whether or not the product is deleted).
    fn product_of(&self, variant_id: Uuid) -> Option<Uuid> {
        self.products
            .values()
            .find(|r| r.live_variants().any(|v| v.id == variant_id))
            .map(|r| r.product.id)
    }

    /// The owned live product of a variant not removed (the adapter's `lock_variant_owner`).
    fn variant_owner(&self, seller_id: &str, variant_id: Uuid) -> Result<&Row, StoreError> {
        let product_id = self.product_of(variant_id).ok_or(StoreError::NotFound)?;
        self.owned(seller_id, product_id)
    }

    /// Replaces the row, bumps its version and emits its document (the adapter's
    /// `bump_and_emit`, after the change it follows).
    fn commit(&mut self, mut row: Row, base: &str) -> Product {
        row.product.version += 1;
        row.product.updated_at = self.clock.tick();
        let product = document(&row, base);
        self.events
            .push(Emitted::Upserted(Box::new(product.clone())));
        self.products.insert(row.product.id, row);
        product
    }

    /// Copies a row to change it; the copy replaces the stored one only when the whole change
    /// succeeded.
    fn copy(&self, id: Uuid) -> Result<Row, StoreError> {
        self.products.get(&id).cloned().ok_or(StoreError::NotFound)
    }
}

/// The whole document of a row: its live variants, its image URL.
fn document(row: &Row, image_base_url: &str) -> Product {
    Product {
        variants: row.live_variants().cloned().collect(),
        image_url: row
            .image_key
            .as_ref()
            .map(|k| format!("{}/{k}", image_base_url.trim_end_matches('/'))),
        ..row.product.clone()
    }
}

impl FakeInventory {
    /// Image URLs are `<base>/<key>`.
    pub fn with_image_base_url(base: &str) -> Self {
        Self {
            inner: Mutex::default(),
            image_base_url: base.to_string(),
            unavailable: AtomicBool::new(false),
        }
    }

    /// While set, every call answers [`StoreError::Unavailable`] (the database is down).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::Relaxed);
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        if self.unavailable.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("postgres: fake is down".into()));
        }
        self.inner.lock().map_err(|_| poisoned())
    }

    /// The stored document of a product, deleted or not (with whether it is deleted).
    pub fn product(&self, id: Uuid) -> Option<(Product, bool)> {
        let inner = self.inner.lock().ok()?;
        let row = inner.products.get(&id)?;
        Some((document(row, &self.image_base_url), row.deleted))
    }

    /// Every outbox event, oldest first.
    pub fn events(&self) -> Vec<Emitted> {
        self.inner
            .lock()
            .map(|i| i.events.clone())
            .unwrap_or_default()
    }

    /// The stock ledger of a variant, oldest first.
    pub fn movements(&self, variant_id: Uuid) -> Vec<Movement> {
        self.inner
            .lock()
            .map(|i| {
                i.movements
                    .iter()
                    .filter(|m| m.variant_id == variant_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where the hold of `order_id` on `variant_id` stands, if there is one.
    pub fn hold_status(&self, order_id: Uuid, variant_id: Uuid) -> Option<HoldStatus> {
        let inner = self.inner.lock().ok()?;
        inner.holds.get(&(order_id, variant_id)).map(|h| h.status)
    }

    /// Ends an active hold: `sold` turns it into a sale, otherwise it is given back (the
    /// adapter's `settle`). A product deleted meanwhile gets no new version or event.
    fn settle(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        sold: bool,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        let quantity = match inner.holds.get(&(order_id, variant_id)) {
            Some(h) if h.status == HoldStatus::Held => h.quantity,
            _ => return Ok(false),
        };
        // A variant with units held is removed only with its product, so it is found by id.
        let product_id = inner
            .products
            .values()
            .find(|r| r.variants.iter().any(|v| v.variant.id == variant_id))
            .map(|r| r.product.id)
            .ok_or(StoreError::NotFound)?;
        let mut row = inner.copy(product_id)?;
        let on_hand_delta = if sold { -quantity } else { 0 };
        let variant = row.variant_mut(variant_id)?;
        variant.held -= quantity;
        variant.on_hand += on_hand_delta;
        check_variant(variant)?;
        check_reason(reason)?;
        if let Some(hold) = inner.holds.get_mut(&(order_id, variant_id)) {
            hold.status = if sold {
                HoldStatus::Committed
            } else {
                HoldStatus::Released
            };
        }
        inner.movements.push(Movement {
            variant_id,
            on_hand_delta,
            held_delta: -quantity,
            reason: reason.to_string(),
            order_id: Some(order_id),
        });
        if row.deleted {
            inner.products.insert(product_id, row);
        } else {
            inner.commit(row, &self.image_base_url);
        }
        Ok(true)
    }

    /// The owned live product of a variant, copied for change.
    fn owned_copy(inner: &Inner, seller_id: &str, variant_id: Uuid) -> Result<Row, StoreError> {
        let id = inner.variant_owner(seller_id, variant_id)?.product.id;
        inner.copy(id)
    }
}

#[async_trait]
impl InventoryStore for FakeInventory {
    async fn create_product(
        &self,
        seller_id: &str,
        new: NewProduct,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let id = Uuid::now_v7();
        let now = inner.clock.tick();
        let product = Product {
            id,
            seller_id: seller_id.to_string(),
            name: new.name,
            description: new.description,
            category: new.category,
            info: Json(new.info),
            status: new.status,
            image_url: None,
            variants: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        check_product(&product)?;
        let news = if new.variants.is_empty() {
            vec![NewVariant {
                sku: default_sku(id),
                name: "Default".into(),
                attributes: serde_json::json!({}),
                price: Money {
                    amount: 0,
                    currency: "EUR".into(),
                },
                on_hand: 0,
            }]
        } else {
            new.variants
        };
        let mut variants: Vec<VariantRow> = Vec::with_capacity(news.len());
        for (n, v) in news.into_iter().enumerate() {
            let variant = new_variant(v);
            check_variant(&variant)?;
            // Inserted one by one: the index also sees this request's earlier variants.
            if inner.sku_used(seller_id, &variant.sku, None)
                || variants.iter().any(|v| v.variant.sku == variant.sku)
            {
                return Err(sku_taken(n));
            }
            variants.push(VariantRow {
                variant,
                removed: false,
            });
        }
        for v in variants.iter().filter(|v| v.variant.on_hand > 0) {
            inner.movements.push(Movement {
                variant_id: v.variant.id,
                on_hand_delta: v.variant.on_hand,
                held_delta: 0,
                reason: "initial stock".into(),
                order_id: None,
            });
        }
        let row = Row {
            product,
            image_key: None,
            deleted: false,
            variants,
        };
        let product = document(&row, &self.image_base_url);
        inner
            .events
            .push(Emitted::Upserted(Box::new(product.clone())));
        inner.products.insert(id, row);
        Ok(product)
    }

    async fn list_products(&self, limit: u32) -> Result<Vec<Product>, StoreError> {
        let inner = self.lock()?;
        let mut rows: Vec<&Row> = inner.products.values().filter(|r| !r.deleted).collect();
        rows.sort_by(|a, b| {
            (b.product.created_at, b.product.id).cmp(&(a.product.created_at, a.product.id))
        });
        Ok(rows
            .into_iter()
            .take(limit as usize)
            .map(|r| document(r, &self.image_base_url))
            .collect())
    }

    async fn owned_product(&self, seller_id: &str, id: Uuid) -> Result<Product, StoreError> {
        let inner = self.lock()?;
        let row = inner.owned(seller_id, id)?;
        Ok(document(row, &self.image_base_url))
    }

    async fn update_product(
        &self,
        seller_id: &str,
        id: Uuid,
        expected_version: i64,
        patch: ProductPatch,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let current = inner.owned(seller_id, id)?.product.version;
        if current != expected_version {
            return Err(StoreError::StaleVersion { current });
        }
        let mut row = inner.copy(id)?;
        let p = &mut row.product;
        if let Some(name) = patch.name {
            p.name = name;
        }
        if let Some(description) = patch.description {
            p.description = description;
        }
        if let Some(category) = patch.category {
            p.category = category;
        }
        if let Some(info) = patch.info {
            p.info = Json(info);
        }
        // `info.category` always mirrors the category, as the original API reads it there.
        if let serde_json::Value::Object(map) = &mut p.info.0 {
            map.insert(
                "category".into(),
                serde_json::Value::String(p.category.clone()),
            );
        }
        check_product(p)?;
        Ok(inner.commit(row, &self.image_base_url))
    }

    async fn delete_product(
        &self,
        seller_id: &str,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let current = inner.owned(seller_id, id)?.product.version;
        if let Some(expected) = expected_version
            && current != expected
        {
            return Err(StoreError::StaleVersion { current });
        }
        let now = inner.clock.tick();
        let Some(row) = inner.products.get_mut(&id) else {
            return Err(StoreError::NotFound);
        };
        // Soft: the row stays; the mark and the version change, and its variants leave with
        // it (after the document is taken, as the adapter reads it before removing them).
        row.deleted = true;
        row.product.version += 1;
        row.product.updated_at = now;
        let product = document(row, &self.image_base_url);
        for v in &mut row.variants {
            v.removed = true;
        }
        inner.events.push(Emitted::Deleted {
            id,
            version: product.version,
        });
        Ok(product)
    }

    async fn set_status(
        &self,
        seller_id: &str,
        id: Uuid,
        status: ProductStatus,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let row = inner.owned(seller_id, id)?;
        if row.product.status == status {
            // Already so: no new version, no event.
            return Ok(document(row, &self.image_base_url));
        }
        let mut row = inner.copy(id)?;
        row.product.status = status;
        Ok(inner.commit(row, &self.image_base_url))
    }

    async fn add_variant(
        &self,
        seller_id: &str,
        product_id: Uuid,
        variant: NewVariant,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let row = inner.owned(seller_id, product_id)?;
        if row.live_variants().count() >= VARIANTS_MAX {
            return Err(StoreError::Rejected {
                what: Rejected::Product,
                message: "the product already has the most variants allowed".into(),
            });
        }
        let variant = new_variant(variant);
        check_variant(&variant)?;
        if inner.sku_used(seller_id, &variant.sku, None) {
            return Err(sku_taken(0));
        }
        let mut row = inner.copy(product_id)?;
        if variant.on_hand > 0 {
            inner.movements.push(Movement {
                variant_id: variant.id,
                on_hand_delta: variant.on_hand,
                held_delta: 0,
                reason: "initial stock".into(),
                order_id: None,
            });
        }
        row.variants.push(VariantRow {
            variant,
            removed: false,
        });
        Ok(inner.commit(row, &self.image_base_url))
    }

    async fn update_variant(
        &self,
        seller_id: &str,
        variant_id: Uuid,
        patch: VariantPatch,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let mut row = Self::owned_copy(&inner, seller_id, variant_id)?;
        let v = row.variant_mut(variant_id)?;
        if let Some(sku) = patch.sku {
            v.sku = sku;
        }
        if let Some(name) = patch.name {
            v.name = name;
        }
        if let Some(attributes) = patch.attributes {
            v.attributes = Json(attributes);
        }
        if let Some(price) = patch.price {
            v.price = Money {
                amount: price.amount,
                currency: price.currency.trim().to_string(),
            };
        }
        // CHECK constraints come before the unique index, as in PostgreSQL.
        check_variant(v)?;
        if inner.sku_used(seller_id, &v.sku, Some(variant_id)) {
            return Err(sku_taken(0));
        }
        Ok(inner.commit(row, &self.image_base_url))
    }

    async fn remove_variant(
        &self,
        seller_id: &str,
        variant_id: Uuid,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let mut row = Self::owned_copy(&inner, seller_id, variant_id)?;
        let refuse = |message: &str| StoreError::Rejected {
            what: Rejected::Variant,
            message: message.into(),
        };
        if row.live_variants().count() <= 1 {
            return Err(refuse("a product keeps at least one variant"));
        }
        if row.variant_mut(variant_id)?.held > 0 {
            return Err(refuse("units of this variant are held by orders in flight"));
        }
        if let Some(v) = row.variants.iter_mut().find(|v| v.variant.id == variant_id) {
            v.removed = true;
        }
        Ok(inner.commit(row, &self.image_base_url))
    }

    async fn change_stock(
        &self,
        seller_id: &str,
        variant_id: Uuid,
        change: StockChange,
        reason: &str,
    ) -> Result<Product, StoreError> {
        let mut inner = self.lock()?;
        let mut row = Self::owned_copy(&inner, seller_id, variant_id)?;
        let v = row.variant_mut(variant_id)?;
        let (current, held) = (v.on_hand, v.held);
        let target = change.target(current, held)?;
        if target != current {
            check_reason(reason)?;
            v.on_hand = target;
            inner.movements.push(Movement {
                variant_id,
                on_hand_delta: target - current,
                held_delta: 0,
                reason: reason.to_string(),
                order_id: None,
            });
        }
        // A change to the same level still makes a version, as in the adapter.
        Ok(inner.commit(row, &self.image_base_url))
    }

    async fn set_image(
        &self,
        product_id: Uuid,
        seller_id: &str,
        key: &str,
    ) -> Result<Option<Product>, StoreError> {
        let mut inner = self.lock()?;
        let row = match inner.owned(seller_id, product_id) {
            Ok(row) => row,
            Err(StoreError::NotFound | StoreError::Forbidden(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if row.image_key.as_deref() == Some(key) {
            return Ok(None);
        }
        let mut row = inner.copy(product_id)?;
        row.image_key = Some(key.to_string());
        Ok(Some(inner.commit(row, &self.image_base_url)))
    }
}

#[async_trait]
impl StockHolds for FakeInventory {
    async fn hold(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        quantity: i32,
        expires_at: DateTime<Utc>,
    ) -> Result<HoldOutcome, StoreError> {
        let mut inner = self.lock()?;
        if inner.holds.contains_key(&(order_id, variant_id)) {
            // Idempotent: this order already asked for this variant (whatever came of it).
            return Ok(HoldOutcome::Held);
        }
        // A variant removed, of a deleted product, or unknown holds nothing.
        let Some(product_id) = inner.product_of(variant_id) else {
            return Ok(HoldOutcome::Insufficient);
        };
        let mut row = inner.copy(product_id)?;
        if row.deleted {
            return Ok(HoldOutcome::Insufficient);
        }
        if quantity <= 0 {
            return Err(internal("stock_holds.quantity"));
        }
        let v = row.variant_mut(variant_id)?;
        if v.on_hand - v.held < quantity {
            return Ok(HoldOutcome::Insufficient);
        }
        v.held += quantity;
        inner.holds.insert(
            (order_id, variant_id),
            Hold {
                quantity,
                expires_at,
                status: HoldStatus::Held,
            },
        );
        inner.movements.push(Movement {
            variant_id,
            on_hand_delta: 0,
            held_delta: quantity,
            reason: "hold".into(),
            order_id: Some(order_id),
        });
        inner.commit(row, &self.image_base_url);
        Ok(HoldOutcome::Held)
    }

    async fn release(
        &self,
        order_id: Uuid,
        variant_id: Uuid,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.settle(order_id, variant_id, false, reason)
    }

    async fn commit(&self, order_id: Uuid, variant_id: Uuid) -> Result<bool, StoreError> {
        self.settle(order_id, variant_id, true, "sale")
    }

    async fn release_expired(&self, limit: u32) -> Result<usize, StoreError> {
        let expired: Vec<(Uuid, Uuid)> = {
            let inner = self.lock()?;
            let now = Utc::now();
            let mut due: Vec<(&(Uuid, Uuid), &Hold)> = inner
                .holds
                .iter()
                .filter(|(_, h)| h.status == HoldStatus::Held && h.expires_at < now)
                .collect();
            due.sort_by_key(|(_, h)| h.expires_at);
            due.into_iter()
                .take(limit as usize)
                .map(|(k, _)| *k)
                .collect()
        };
        let mut released = 0;
        for (order_id, variant_id) in expired {
            if self.settle(order_id, variant_id, false, "hold expired")? {
                released += 1;
            }
        }
        Ok(released)
    }
}
