use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    ImageStorage, InventoryStore, NAME_MAX_CHARS, NewProduct, NewVariant, Product, ProductPatch,
    ProductStatus, REASON_MAX_CHARS, STOCK_MAX, StockChange, VARIANTS_MAX, VariantPatch,
    category_and_info,
};
use crate::{
    ApiError, Rejected, Role,
    checks::{Checks, uuid},
    error::{into_gql, violations_into_gql},
    guard,
};

/// Image types accepted for upload.
pub const IMAGE_CONTENT_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
];

/// An amount of money.
#[derive(InputObject)]
pub struct MoneyInput {
    /// Minor units (cents), 0 to 1 000 000 000.
    pub amount: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

/// A new variant.
#[derive(InputObject)]
pub struct VariantInput {
    /// Stock-keeping unit: 1 to 64 letters, digits, `-`, `_` or `.`; unique among the seller's
    /// live variants.
    pub sku: String,
    /// Display name, at most 200 characters (defaults to the SKU).
    pub name: Option<String>,
    /// Free-form attributes (size, colour…): a JSON object of at most 16 KiB.
    pub attributes: Option<Json<serde_json::Value>>,
    /// Unit price.
    pub price: MoneyInput,
    /// Initial stock, 0 to 1 000 000 (default 0).
    pub on_hand: Option<i32>,
}

/// A new product. The caller (a seller) becomes its seller.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Longer description, at most 5000 characters.
    pub description: Option<String>,
    /// Browsing category, 1 to 100 characters. When omitted, `info.category` is used.
    pub category: Option<String>,
    /// Free-form attributes: a JSON object of at most 16 KiB.
    pub info: Option<Json<serde_json::Value>>,
    /// Initial status (default `ACTIVE`: listed at once).
    pub status: Option<ProductStatus>,
    /// Up to 100 variants. Without any, the product gets one default variant (price 0 EUR, no
    /// stock) to edit later.
    pub variants: Option<Vec<VariantInput>>,
}

/// A partial change: omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// Display name, 1 to 200 characters.
    pub name: Option<String>,
    /// Longer description, at most 5000 characters.
    pub description: Option<String>,
    /// Browsing category, 1 to 100 characters.
    pub category: Option<String>,
    /// Free-form attributes (replaces the previous object).
    pub info: Option<Json<serde_json::Value>>,
}

/// A partial change of a variant: omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateVariantInput {
    /// New SKU.
    pub sku: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New attributes (replaces the previous object).
    pub attributes: Option<Json<serde_json::Value>>,
    /// New unit price.
    pub price: Option<MoneyInput>,
}

/// One HTTP header the upload must send.
#[derive(SimpleObject)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// Where and how to upload a product image straight to object storage.
#[derive(SimpleObject)]
pub struct ImageUpload {
    /// The presigned URL.
    pub url: String,
    /// The HTTP method to use (`PUT`).
    pub method: String,
    /// Headers the request must carry exactly as given.
    pub headers: Vec<HttpHeader>,
    /// The object key; the product's image is set once storage reports it.
    pub key: String,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// Seller-side writes. Every mutation needs the seller role and acts only on the caller's own
/// products; each is one PostgreSQL transaction that also enqueues the product's new document.
#[derive(Default)]
pub struct InventoryMutation;

fn store<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<dyn InventoryStore>> {
    ctx.data::<Arc<dyn InventoryStore>>()
}

fn seller(ctx: &Context<'_>) -> Result<String> {
    guard::require_role(ctx, Role::Seller)
        .map(|v| v.subject.clone())
        .map_err(into_gql)
}

fn stored<T>(result: Result<T, crate::StoreError>) -> Result<T> {
    result.map_err(|e| into_gql(e.into()))
}

/// [`stored`], naming the field of a part of the request the store refused.
fn stored_naming<T>(
    result: Result<T, crate::StoreError>,
    field: impl FnOnce(Rejected) -> String,
) -> Result<T> {
    result.map_err(|e| into_gql(e.naming(field)))
}

fn variant(checks: &mut Checks, input: VariantInput) -> NewVariant {
    let sku = checks.sku("sku", &input.sku);
    let name = match input.name {
        Some(n) => checks.text("name", &n, 1, NAME_MAX_CHARS),
        None => sku.clone(),
    };
    NewVariant {
        attributes: checks.object("attributes", input.attributes.map(|j| j.0)),
        price: checks.money("price", input.price.amount, &input.price.currency),
        on_hand: checks.stock("onHand", input.on_hand.unwrap_or(0)),
        sku,
        name,
    }
}

fn reason(checks: &mut Checks, value: &str) -> String {
    checks.text("reason", value, 1, REASON_MAX_CHARS)
}

#[Object]
impl InventoryMutation {
    /// Creates a product. Returns it as committed in PostgreSQL; the catalog follows
    /// asynchronously through the outbox.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let mut checks = Checks::new("input");
        let name = checks.text("name", &input.name, 1, NAME_MAX_CHARS);
        let description = checks.text(
            "description",
            input.description.as_deref().unwrap_or_default(),
            0,
            super::DESCRIPTION_MAX_CHARS,
        );
        let (category, info) = category_and_info(
            &mut checks,
            input.category.as_deref(),
            input.info.map(|j| j.0),
        );
        let inputs = input.variants.unwrap_or_default();
        if inputs.len() > VARIANTS_MAX {
            checks.fail(
                "variants",
                format!("must hold at most {VARIANTS_MAX} variants"),
            );
        }
        let mut variants = Vec::with_capacity(inputs.len());
        for (i, v) in inputs.into_iter().enumerate() {
            let mut inner = Checks::new(&checks.field(&format!("variants.{i}")));
            variants.push(variant(&mut inner, v));
            checks.errors.extend(inner.errors);
        }
        let mut skus: Vec<&str> = variants.iter().map(|v| v.sku.as_str()).collect();
        skus.sort_unstable();
        if skus.windows(2).any(|w| w[0] == w[1]) {
            checks.fail("variants", "SKUs must be unique");
        }
        let product = checks
            .finish(NewProduct {
                name,
                description,
                category,
                info,
                status: input.status.unwrap_or_default(),
                variants,
            })
            .map_err(violations_into_gql)?;
        stored_naming(
            store(ctx)?.create_product(&seller, product).await,
            |what| match what {
                Rejected::Sku(i) => format!("input.variants.{i}.sku"),
                other => format!("input.{other:?}"),
            },
        )
    }

    /// Changes a product's fields if `expectedVersion` is still its version; otherwise
    /// `CONFLICT` with `extensions.currentVersion`.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i64,
        input: UpdateProductInput,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let id = uuid("id", &id)?;
        let mut checks = Checks::new("input");
        let patch = ProductPatch {
            name: input
                .name
                .map(|n| checks.text("name", &n, 1, NAME_MAX_CHARS)),
            description: input
                .description
                .map(|d| checks.text("description", &d, 0, super::DESCRIPTION_MAX_CHARS)),
            category: input
                .category
                .map(|c| checks.text("category", &c, 1, super::CATEGORY_MAX_CHARS)),
            info: input.info.map(|i| checks.object("info", Some(i.0))),
        };
        let patch = checks.finish(patch).map_err(violations_into_gql)?;
        stored(
            store(ctx)?
                .update_product(&seller, id, expected_version, patch)
                .await,
        )
    }

    /// Deletes a product (softly: it leaves the catalog; its history stays).
    async fn delete_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let id = uuid("id", &id)?;
        stored(
            store(ctx)?
                .delete_product(&seller, id, expected_version)
                .await,
        )
    }

    /// Lists the product in the catalog (status `ACTIVE`).
    async fn publish_product(&self, ctx: &Context<'_>, id: ID) -> Result<Product> {
        let seller = seller(ctx)?;
        let id = uuid("id", &id)?;
        stored(
            store(ctx)?
                .set_status(&seller, id, ProductStatus::Active)
                .await,
        )
    }

    /// Takes the product out of the catalog: back to `DRAFT`, or `ARCHIVED` with `archive`.
    async fn unpublish_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] archive: bool,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let id = uuid("id", &id)?;
        let status = if archive {
            ProductStatus::Archived
        } else {
            ProductStatus::Draft
        };
        stored(store(ctx)?.set_status(&seller, id, status).await)
    }

    /// Adds a variant to a product.
    async fn add_variant(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        input: VariantInput,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let product_id = uuid("productId", &product_id)?;
        let mut checks = Checks::new("input");
        let new = variant(&mut checks, input);
        let new = checks.finish(new).map_err(violations_into_gql)?;
        stored_naming(
            store(ctx)?.add_variant(&seller, product_id, new).await,
            |what| match what {
                Rejected::Product => "productId".into(),
                _ => "input.sku".into(),
            },
        )
    }

    /// Changes a variant's SKU, name, attributes or price.
    async fn update_variant(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateVariantInput,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let id = uuid("id", &id)?;
        let mut checks = Checks::new("input");
        let patch = VariantPatch {
            sku: input.sku.map(|s| checks.sku("sku", &s)),
            name: input
                .name
                .map(|n| checks.text("name", &n, 1, NAME_MAX_CHARS)),
            attributes: input
                .attributes
                .map(|a| checks.object("attributes", Some(a.0))),
            price: input
                .price
                .map(|p| checks.money("price", p.amount, &p.currency)),
        };
        let patch = checks.finish(patch).map_err(violations_into_gql)?;
        stored_naming(store(ctx)?.update_variant(&seller, id, patch).await, |_| {
            "input.sku".into()
        })
    }

    /// Removes a variant (not the product's last one, nor one with units held by orders).
    async fn remove_variant(&self, ctx: &Context<'_>, id: ID) -> Result<Product> {
        let seller = seller(ctx)?;
        let id = uuid("id", &id)?;
        stored_naming(store(ctx)?.remove_variant(&seller, id).await, |_| {
            "id".into()
        })
    }

    /// Sets a variant's `onHand` (0 to 1 000 000, not below what is held), recording `reason`
    /// in the stock ledger.
    async fn set_stock(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        on_hand: i32,
        reason: String,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let variant_id = uuid("variantId", &variant_id)?;
        let mut checks = Checks::new("");
        let on_hand = checks.stock("onHand", on_hand);
        let reason = self::reason(&mut checks, &reason);
        checks.finish(()).map_err(violations_into_gql)?;
        stored_naming(
            store(ctx)?
                .change_stock(&seller, variant_id, StockChange::Set(on_hand), &reason)
                .await,
            |_| "onHand".into(),
        )
    }

    /// Adds `delta` (negative to remove, at most 1 000 000 either way) to a variant's `onHand`,
    /// recording `reason` in the stock ledger. `onHand` never drops below what is held.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        delta: i32,
        reason: String,
    ) -> Result<Product> {
        let seller = seller(ctx)?;
        let variant_id = uuid("variantId", &variant_id)?;
        let mut checks = Checks::new("");
        if delta == 0 || delta.unsigned_abs() > STOCK_MAX.unsigned_abs() {
            checks.fail(
                "delta",
                format!("must be non-zero and between -{STOCK_MAX} and {STOCK_MAX}"),
            );
        }
        let reason = self::reason(&mut checks, &reason);
        checks.finish(()).map_err(violations_into_gql)?;
        stored_naming(
            store(ctx)?
                .change_stock(&seller, variant_id, StockChange::Adjust(delta), &reason)
                .await,
            |_| "delta".into(),
        )
    }

    /// A presigned URL to PUT the product's image straight to object storage (JPEG, PNG or
    /// WebP, at most the configured size, valid at most 15 minutes). The product's `imageUrl`
    /// is set when storage reports the upload.
    async fn request_product_image_upload(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        content_type: String,
        content_length: i64,
    ) -> Result<ImageUpload> {
        let seller = seller(ctx)?;
        let product_id = uuid("productId", &product_id)?;
        let storage = ctx.data::<Arc<dyn ImageStorage>>()?;
        let content_type = content_type.trim().to_ascii_lowercase();
        let Some((_, ext)) = IMAGE_CONTENT_TYPES.iter().find(|(t, _)| *t == content_type) else {
            return Err(into_gql(ApiError::bad_input(
                "contentType",
                "must be image/jpeg, image/png or image/webp",
            )));
        };
        if !(1..=storage.max_bytes()).contains(&content_length) {
            return Err(into_gql(ApiError::bad_input(
                "contentLength",
                format!("must be between 1 and {} bytes", storage.max_bytes()),
            )));
        }
        let product = stored(store(ctx)?.owned_product(&seller, product_id).await)?;
        let key = format!(
            "products/{}/{}/{}.{ext}",
            product.seller_id,
            product.id,
            Uuid::new_v4()
        );
        let upload = stored(
            storage
                .presign_put(&key, &content_type, content_length)
                .await,
        )?;
        Ok(ImageUpload {
            url: upload.url,
            method: upload.method,
            headers: upload
                .headers
                .into_iter()
                .map(|(name, value)| HttpHeader { name, value })
                .collect(),
            key,
            expires_at: upload.expires_at,
        })
    }
}

/// Parses an image key made by [`InventoryMutation::request_product_image_upload`]:
/// `products/<seller>/<product>/<name>.<ext>` → (seller id, product id).
pub fn parse_image_key(key: &str) -> Option<(String, Uuid)> {
    let mut parts = key.split('/');
    let (Some("products"), Some(seller), Some(product), Some(file), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let ext = file.rsplit_once('.')?.1;
    if seller.is_empty() || !IMAGE_CONTENT_TYPES.iter().any(|(_, e)| *e == ext) {
        return None;
    }
    Some((seller.to_string(), Uuid::parse_str(product).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_keys_round_trip_and_strangers_are_refused() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse_image_key(&format!("products/alice/{id}/x.png")),
            Some(("alice".to_string(), id))
        );
        for bad in [
            "products/alice/not-a-uuid/x.png".to_string(),
            format!("products/alice/{id}/x.html"),
            format!("other/alice/{id}/x.png"),
            format!("products/alice/{id}/nested/x.png"),
        ] {
            assert_eq!(parse_image_key(&bad), None, "{bad}");
        }
    }
}
