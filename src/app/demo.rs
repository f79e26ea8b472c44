//! Demo data for the Quick start: a few products from one demo seller, written through the same
//! store as real writes (so they reach the catalog through the outbox like anything else).

use mercado_resolvers::{
    inventory::{InventoryStore, NewVariant, validate_new_product},
    money::Money,
};

use crate::{StartupError, adapters::postgres::PgInventory};

pub const DEMO_SELLER: &str = "demo-seller";

/// (name, category, info, SKU, price in cents, stock)
const PRODUCTS: &[(&str, &str, &str, &str, i64, i32)] = &[
    (
        "Enamel camping mug",
        "kitchen",
        r#"{"colour": "sage"}"#,
        "DEMO-MUG",
        1450,
        40,
    ),
    (
        "Cast-iron skillet",
        "kitchen",
        r#"{"diameterCm": 26}"#,
        "DEMO-SKILLET",
        3900,
        12,
    ),
    (
        "Merino beanie",
        "apparel",
        r#"{"sizes": ["S", "M"]}"#,
        "DEMO-BEANIE",
        2500,
        25,
    ),
    (
        "Field notebook",
        "stationery",
        r#"{"pages": 96}"#,
        "DEMO-NOTEBOOK",
        900,
        100,
    ),
    (
        "Brass fountain pen",
        "stationery",
        r#"{"nib": "M"}"#,
        "DEMO-PEN",
        5500,
        8,
    ),
];

/// Creates the demo products unless the demo seller already has some. Returns how many.
pub async fn seed(store: &PgInventory) -> Result<usize, StartupError> {
    let existing = store
        .product_count(DEMO_SELLER)
        .await
        .map_err(|e| StartupError::Postgres(e.to_string()))?;
    if existing > 0 {
        return Ok(0);
    }
    for (name, category, info, sku, cents, stock) in PRODUCTS {
        let info: serde_json::Value =
            serde_json::from_str(info).map_err(|e| StartupError::Config(e.to_string()))?;
        let mut product = validate_new_product("", name, Some(category), Some(info))
            .map_err(|e| StartupError::Config(format!("demo product {name}: {e:?}")))?;
        product.variants.push(NewVariant {
            sku: (*sku).to_string(),
            name: "Standard".into(),
            attributes: serde_json::json!({}),
            price: Money {
                amount: *cents,
                currency: "EUR".into(),
            },
            on_hand: *stock,
        });
        store
            .create_product(DEMO_SELLER, product)
            .await
            .map_err(|e| StartupError::Postgres(e.to_string()))?;
    }
    Ok(PRODUCTS.len())
}
