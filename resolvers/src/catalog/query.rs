use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use uuid::Uuid;

use super::{CatalogReader, ProductQuery};
use crate::{ApiError, error::into_gql, inventory::Product, page::PageInfo};

/// Largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;

/// A page of products.
#[derive(SimpleObject)]
pub struct ProductConnection {
    /// The products on this page, each with its cursor.
    pub edges: Vec<ProductEdge>,
    /// Where this page sits in the listing.
    pub page_info: PageInfo,
}

/// A product and the cursor that resumes the listing right after it.
#[derive(SimpleObject)]
pub struct ProductEdge {
    /// The product.
    pub node: Product,
    /// Opaque; pass as `after` to read the items that follow.
    pub cursor: String,
}

/// Narrows a product listing.
#[derive(InputObject, Default)]
pub struct ProductFilter {
    /// Only products in this category (exact match).
    pub category: Option<String>,
}

/// Buyer-side reads, served from the read model.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// One product by id, or null when the catalog does not hold it (yet).
    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Product>> {
        let id = Uuid::parse_str(&id)
            .map_err(|_| into_gql(ApiError::bad_input("id", "must be a UUID")))?;
        reader(ctx)
            .product(id)
            .await
            .map_err(|e| into_gql(e.into()))
    }

    /// Products, newest first, as a Relay connection. `first` is 1 to 100 (default 20); `after`
    /// is a cursor from a previous page of the same listing.
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilter>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<ProductConnection> {
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(into_gql(ApiError::bad_input(
                "first",
                format!("must be between 1 and {MAX_PAGE}"),
            )));
        }
        let filter = filter.unwrap_or_default();
        let query = ProductQuery {
            category: filter.category,
            first: usize::try_from(first).unwrap_or(1),
            after: after.clone(),
        };
        let page = reader(ctx)
            .products(query)
            .await
            .map_err(|e| into_gql(e.into()))?;
        let cursors: Vec<&str> = page.items.iter().map(|(c, _)| c.as_str()).collect();
        let page_info = PageInfo::new(&cursors, after.is_some(), page.has_next_page);
        Ok(ProductConnection {
            edges: page
                .items
                .into_iter()
                .map(|(cursor, node)| ProductEdge { node, cursor })
                .collect(),
            page_info,
        })
    }
}

fn reader<'a>(ctx: &'a Context<'_>) -> &'a Arc<dyn CatalogReader> {
    ctx.data_unchecked::<Arc<dyn CatalogReader>>()
}
