use async_graphql::{ComplexObject, Enum, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ApiError, checks::Checks, money::Money};

/// Whether buyers can see and buy a product.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductStatus {
    /// Being prepared; hidden from buyers.
    Draft,
    /// Listed in the catalog.
    #[default]
    Active,
    /// Withdrawn for good; hidden from buyers.
    Archived,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Active => "ACTIVE",
            Self::Archived => "ARCHIVED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "DRAFT" => Some(Self::Draft),
            "ACTIVE" => Some(Self::Active),
            "ARCHIVED" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// A sellable unit of a product (a size, a colour…), with its price and stock.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    #[graphql(skip)]
    pub id: Uuid,
    /// Stock-keeping unit, unique among the seller's live variants.
    pub sku: String,
    /// Display name, e.g. `Large / Blue`.
    pub name: String,
    /// Free-form attributes (size, colour…): a JSON object.
    pub attributes: Json<serde_json::Value>,
    /// Unit price.
    pub price: Money,
    /// Units in stock.
    pub on_hand: i32,
    /// Units reserved by orders in flight.
    pub held: i32,
}

#[ComplexObject]
impl Variant {
    /// Stable identifier (a UUID).
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Units a buyer can still take: `onHand - held`.
    async fn available(&self) -> i32 {
        self.on_hand - self.held
    }
}

/// A product: the whole document, as PostgreSQL commits it and as events carry it to the catalog.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    #[graphql(skip)]
    pub id: Uuid,
    /// The seller's user id (the subject of the token that created it).
    pub seller_id: String,
    /// Display name.
    pub name: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// Category used for browsing; also kept as `info.category` for the original API.
    pub category: String,
    /// Free-form attributes (a JSON object).
    pub info: Json<serde_json::Value>,
    /// Whether buyers can see it.
    #[serde(default)]
    pub status: ProductStatus,
    /// Public URL of the product image, once one was uploaded.
    #[serde(default)]
    pub image_url: Option<String>,
    /// The sellable units (at least one).
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Grows by one on every change; the read model accepts only newer versions.
    pub version: i64,
    /// When the product was created.
    pub created_at: DateTime<Utc>,
    /// When the product last changed.
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// The lowest variant price (minor units): what price filters, sorts and ranges use.
    pub fn lowest_price(&self) -> Option<i64> {
        self.variants.iter().map(|v| v.price.amount).min()
    }
}

#[ComplexObject]
impl Product {
    /// Stable identifier (a UUID).
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Pass to a catalog read's `consistency` argument to read at least this version, however
    /// far the read model lags behind the write that returned it.
    async fn consistency_token(&self) -> String {
        crate::catalog::live::encode_token(&[crate::catalog::AppliedVersion {
            id: self.id,
            version: self.version,
        }])
    }

    /// The seller's public view (batched: one store call per page of products).
    async fn seller(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<crate::profiles::Seller> {
        crate::profiles::load_seller(ctx, &self.seller_id).await
    }
}

/// A validated new variant.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVariant {
    pub sku: String,
    pub name: String,
    pub attributes: serde_json::Value,
    pub price: Money,
    pub on_hand: i32,
}

/// A validated new product, ready for a store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub category: String,
    /// A JSON object whose `category` equals `category`.
    pub info: serde_json::Value,
    pub status: ProductStatus,
    /// Empty means: one default variant (price 0 in the default currency, no stock).
    pub variants: Vec<NewVariant>,
}

/// A validated partial change of a product's fields (`None` keeps a field).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub info: Option<serde_json::Value>,
}

/// A validated partial change of a variant (`None` keeps a field).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub attributes: Option<serde_json::Value>,
    pub price: Option<Money>,
}

/// A change of a variant's stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockChange {
    /// Set `onHand` to this value.
    Set(i32),
    /// Add this (negative to remove) to `onHand`.
    Adjust(i32),
}

impl StockChange {
    /// The `onHand` this change makes of a variant's `current` with `held` units held; refused
    /// ([`Rejected::Stock`](crate::Rejected::Stock)) below `held` or above [`STOCK_MAX`].
    pub fn target(self, current: i32, held: i32) -> Result<i32, crate::StoreError> {
        let target = match self {
            Self::Set(n) => i64::from(n),
            Self::Adjust(d) => i64::from(current) + i64::from(d),
        };
        if target < i64::from(held) || target > i64::from(STOCK_MAX) {
            return Err(crate::StoreError::Rejected {
                what: crate::Rejected::Stock,
                message: format!(
                    "would make onHand {target}: it must stay between the {held} held and {STOCK_MAX}"
                ),
            });
        }
        Ok(i32::try_from(target).unwrap_or(STOCK_MAX))
    }
}

pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 5000;
pub const CATEGORY_MAX_CHARS: usize = 100;
pub const SKU_MAX_CHARS: usize = 64;
/// Largest stock a variant may hold, and largest single adjustment.
pub const STOCK_MAX: i32 = 1_000_000;
pub const VARIANTS_MAX: usize = 100;
pub const REASON_MAX_CHARS: usize = 200;

/// Inventory's own checks.
impl Checks {
    pub fn stock(&mut self, name: &str, value: i32) -> i32 {
        if !(0..=STOCK_MAX).contains(&value) {
            self.fail(name, format!("must be between 0 and {STOCK_MAX}"));
        }
        value
    }

    pub fn sku(&mut self, name: &str, value: &str) -> String {
        let sku = self.text(name, value, 1, SKU_MAX_CHARS);
        if !sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            self.fail(name, "may hold only letters, digits, '-', '_' and '.'");
        }
        sku
    }
}

/// The category from an explicit value or, as the original API sends it, from `info.category`;
/// mirrored into `info.category`.
pub fn category_and_info(
    checks: &mut Checks,
    category: Option<&str>,
    info: Option<serde_json::Value>,
) -> (String, serde_json::Value) {
    let mut info = checks.object("info", info);
    let from_info = info.get("category").cloned();
    let category = match (category, from_info) {
        (Some(c), _) => Some(c.to_string()),
        (None, Some(serde_json::Value::String(c))) => Some(c),
        (None, Some(_)) => {
            checks.fail("info.category", "must be a string");
            None
        }
        (None, None) => None,
    };
    let category = match category {
        None => {
            checks.fail("category", "is required");
            String::new()
        }
        Some(c) => checks.text("category", &c, 1, CATEGORY_MAX_CHARS),
    };
    if let serde_json::Value::Object(map) = &mut info {
        map.insert(
            "category".into(),
            serde_json::Value::String(category.clone()),
        );
    }
    (category, info)
}

/// Checks a new product's core fields, as the original REST API sends them. `path` prefixes
/// field names (`input` for GraphQL, empty for REST).
pub fn validate_new_product(
    path: &str,
    name: &str,
    category: Option<&str>,
    info: Option<serde_json::Value>,
) -> Result<NewProduct, Vec<ApiError>> {
    let mut checks = Checks::new(path);
    let name = checks.text("name", name, 1, NAME_MAX_CHARS);
    let (category, info) = category_and_info(&mut checks, category, info);
    checks.finish(NewProduct {
        name,
        description: String::new(),
        category,
        info,
        status: ProductStatus::Active,
        variants: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn category_comes_from_info_like_the_original_api() {
        let p = validate_new_product("", " test ", None, Some(json!({"category": "test"})))
            .expect("valid");
        assert_eq!(p.name, "test");
        assert_eq!(p.category, "test");
        assert_eq!(p.info, json!({"category": "test"}));
    }

    #[test]
    fn explicit_category_wins_and_is_mirrored_into_info() {
        let p = validate_new_product(
            "input",
            "Mug",
            Some("kitchen"),
            Some(json!({"colour": "red"})),
        )
        .expect("valid");
        assert_eq!(p.info, json!({"colour": "red", "category": "kitchen"}));
    }

    #[test]
    fn every_violation_names_its_field() {
        let errs =
            validate_new_product("input", "  ", None, Some(json!([1, 2]))).expect_err("invalid");
        let fields: Vec<_> = errs.iter().filter_map(|e| e.field()).collect();
        assert_eq!(fields, ["input.name", "input.info", "input.category"]);
    }

    #[test]
    fn oversized_values_are_refused() {
        let long = "x".repeat(NAME_MAX_CHARS + 1);
        let big = json!({"blob": "y".repeat(crate::checks::INFO_MAX_BYTES)});
        let errs = validate_new_product("", &long, Some("c"), Some(big)).expect_err("invalid");
        let fields: Vec<_> = errs.iter().filter_map(|e| e.field()).collect();
        assert_eq!(fields, ["name", "info"]);
    }

    #[test]
    fn money_and_skus() {
        let mut checks = Checks::new("input");
        checks.money("price", -1, "eur");
        checks.money("price", 10, "XXX");
        checks.sku("sku", "bad sku!");
        let fields: Vec<_> = checks
            .errors
            .iter()
            .filter_map(|e| e.field())
            .map(String::from)
            .collect();
        assert_eq!(
            fields,
            ["input.price.amount", "input.price.currency", "input.sku"]
        );
        let mut ok = Checks::new("");
        assert_eq!(ok.money("price", 1999, " eur ").currency, "EUR");
        assert!(ok.errors.is_empty());
    }
}
