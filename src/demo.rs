//! Demo data for the Quick start: a few products from one demo seller, written through the same
//! store as real writes (so they reach the catalog through the outbox like anything else).

use mercado_resolvers::inventory::{InventoryStore, validate_new_product};
use sqlx::PgPool;

use crate::{StartupError, postgres::PgInventory};

pub const DEMO_SELLER: &str = "demo-seller";

const PRODUCTS: &[(&str, &str, &str)] = &[
    (
        "Enamel camping mug",
        "kitchen",
        r#"{"colour": "sage", "capacityMl": 350}"#,
    ),
    ("Cast-iron skillet", "kitchen", r#"{"diameterCm": 26}"#),
    ("Merino beanie", "apparel", r#"{"sizes": ["S", "M", "L"]}"#),
    (
        "Field notebook",
        "stationery",
        r#"{"pages": 96, "ruling": "dot grid"}"#,
    ),
    ("Brass fountain pen", "stationery", r#"{"nib": "M"}"#),
];

/// Creates the demo products unless the demo seller already has some. Returns how many.
pub async fn seed(pool: &PgPool) -> Result<usize, StartupError> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE seller_id = $1")
        .bind(DEMO_SELLER)
        .fetch_one(pool)
        .await
        .map_err(|e| StartupError::Postgres(e.to_string()))?;
    if existing > 0 {
        return Ok(0);
    }
    // Demo products have no images, so no image URL base is needed.
    let store = PgInventory::new(pool.clone(), "");
    for (name, category, info) in PRODUCTS {
        let info: serde_json::Value =
            serde_json::from_str(info).map_err(|e| StartupError::Config(e.to_string()))?;
        let product = validate_new_product("", name, Some(category), Some(info))
            .map_err(|e| StartupError::Config(format!("demo product {name}: {e:?}")))?;
        store
            .create_product(DEMO_SELLER, product)
            .await
            .map_err(|e| StartupError::Postgres(e.to_string()))?;
    }
    Ok(PRODUCTS.len())
}
