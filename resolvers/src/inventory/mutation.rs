use std::sync::Arc;

use async_graphql::{Context, InputObject, Json, Object, Result};

use super::{InventoryStore, Product, validate_new_product};
use crate::{
    Role,
    error::{into_gql, violations_into_gql},
    guard,
};

/// A new product. The caller (a seller) becomes its seller.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Browsing category, 1 to 100 characters. When omitted, `info.category` is used.
    pub category: Option<String>,
    /// Free-form attributes: a JSON object of at most 16 KiB.
    pub info: Option<Json<serde_json::Value>>,
}

/// Seller-side writes.
#[derive(Default)]
pub struct InventoryMutation;

#[Object]
impl InventoryMutation {
    /// Creates a product (seller role). Returns it as committed in PostgreSQL; the catalog
    /// follows asynchronously through the outbox.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let seller = guard::require_role(ctx, Role::Seller).map_err(into_gql)?;
        let product = validate_new_product(
            "input",
            &input.name,
            input.category.as_deref(),
            input.info.map(|j| j.0),
        )
        .map_err(violations_into_gql)?;
        let store = ctx.data_unchecked::<Arc<dyn InventoryStore>>();
        store
            .create_product(&seller.subject, product)
            .await
            .map_err(|e| into_gql(e.into()))
    }
}
