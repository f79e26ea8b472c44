use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::{CatalogEntry, CatalogReader, ProductQuery, ProductSort, live::await_consistency};
use crate::{
    ApiError, Role, Viewer,
    checks::uuid,
    error::into_gql,
    guard,
    inventory::{Product, ProductStatus},
    page::PageInfo,
    page::{MAX_PAGE, page_size},
    profiles::ProfileStore,
};

/// Pages of a listing recommendations read at most, looking past the caller's own products.
const RECOMMENDATION_PAGES: usize = 5;

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
    /// Only this seller's products.
    pub seller_id: Option<ID>,
    /// Only products whose lowest variant price is at least this (minor units).
    pub min_price: Option<i64>,
    /// Only products whose lowest variant price is at most this (minor units).
    pub max_price: Option<i64>,
}

/// Buyer-side reads, served from the read model.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// One product by id, or null when the catalog does not hold it (yet). `consistency`:
    /// tokens from earlier writes (`Product.consistencyToken`); the read waits until the
    /// catalog holds at least those versions (see `products`).
    async fn product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        consistency: Option<Vec<String>>,
    ) -> Result<Option<Product>> {
        let id = uuid("id", &id)?;
        if consistency.is_none() {
            return reader(ctx)?
                .product(id)
                .await
                .map_err(|e| into_gql(e.into()));
        }
        await_consistency(ctx, consistency.as_deref()).await?;
        // After a wait, read what the wait saw: the strongly consistent entry.
        match reader(ctx)?
            .entry(id)
            .await
            .map_err(|e| into_gql(e.into()))?
        {
            CatalogEntry::Present(p) if p.status == ProductStatus::Active => Ok(Some(*p)),
            _ => Ok(None),
        }
    }

    /// One of the caller's own products (seller role) in any status, as the catalog holds it;
    /// null when the catalog does not hold it (yet), or it is deleted or another seller's.
    /// `consistency` as in `product`: pass the tokens of your writes to see them.
    async fn my_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        consistency: Option<Vec<String>>,
    ) -> Result<Option<Product>> {
        let seller = guard::require_role(ctx, Role::Seller).map_err(into_gql)?;
        let id = uuid("id", &id)?;
        await_consistency(ctx, consistency.as_deref()).await?;
        match reader(ctx)?
            .entry(id)
            .await
            .map_err(|e| into_gql(e.into()))?
        {
            CatalogEntry::Present(p) if p.seller_id == seller.subject => Ok(Some(*p)),
            _ => Ok(None),
        }
    }

    /// Active products as a Relay connection: newest first unless `sort` says otherwise.
    /// `first` is 1 to 100 (default 20); `after` is a cursor from a previous page of the same
    /// listing. Pages are full: fewer than `first` items only at the end. `consistency`:
    /// tokens from earlier writes (`Product.consistencyToken`); the read first waits, at most
    /// the server's read wait (2 s by default), until the catalog holds those versions; past
    /// it the answer is what the catalog holds, with a `STALE_READ` error naming the missing
    /// versions beside the data.
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilter>,
        #[graphql(default)] sort: ProductSort,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        consistency: Option<Vec<String>>,
    ) -> Result<ProductConnection> {
        let filter = filter.unwrap_or_default();
        for (field, value) in [
            ("filter.minPrice", filter.min_price),
            ("filter.maxPrice", filter.max_price),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(into_gql(ApiError::bad_input(field, "must not be negative")));
            }
        }
        let first = page_size(first)?;
        await_consistency(ctx, consistency.as_deref()).await?;
        let query = ProductQuery {
            category: filter.category,
            seller_id: filter.seller_id.map(|id| id.0),
            min_price: filter.min_price,
            max_price: filter.max_price,
            sort,
            all_statuses: false,
            first,
            after: after.clone(),
        };
        connection(reader(ctx)?.products(query).await, after.is_some())
    }

    /// The caller's own products in every status (seller role), newest first. `consistency`
    /// as in `products`: pass the tokens of your writes to see them at once.
    async fn my_products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        consistency: Option<Vec<String>>,
    ) -> Result<ProductConnection> {
        let seller = guard::require_role(ctx, Role::Seller).map_err(into_gql)?;
        let first = page_size(first)?;
        await_consistency(ctx, consistency.as_deref()).await?;
        let query = ProductQuery {
            seller_id: Some(seller.subject.clone()),
            all_statuses: true,
            first,
            after: after.clone(),
            ..ProductQuery::default()
        };
        connection(reader(ctx)?.products(query).await, after.is_some())
    }

    /// Up to `first` (1 to 100, default 10) active products for the caller: for a signed-in
    /// user with favourite categories, the newest in those categories; otherwise the newest
    /// overall. Never the caller's own products.
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<Product>> {
        let first = page_size(first)?;
        let viewer = ctx.data_opt::<Option<Viewer>>().and_then(Option::as_ref);
        let favourites = match viewer {
            Some(v) => ctx
                .data::<Arc<dyn ProfileStore>>()?
                .get(&v.subject)
                .await
                .map_err(|e| into_gql(e.into()))?
                .map(|p| p.favorite_categories)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let own = viewer.map(|v| v.subject.as_str());
        let listings: Vec<Option<String>> = if favourites.is_empty() {
            vec![None]
        } else {
            favourites.into_iter().map(Some).collect()
        };
        let mut picked: Vec<Product> = Vec::new();
        for category in listings {
            // Page past the caller's own products until the list is full (bounded: a seller
            // with thousands of the newest products gets what the first pages hold).
            let (mut after, mut found) = (None, 0);
            for _ in 0..RECOMMENDATION_PAGES {
                let page = reader(ctx)?
                    .products(ProductQuery {
                        category: category.clone(),
                        first: MAX_PAGE,
                        after: after.take(),
                        ..ProductQuery::default()
                    })
                    .await
                    .map_err(|e| into_gql(e.into()))?;
                after = page.items.last().map(|(cursor, _)| cursor.clone());
                for (_, product) in page.items {
                    if Some(product.seller_id.as_str()) != own {
                        picked.push(product);
                        found += 1;
                    }
                }
                if found >= first || !page.has_next_page {
                    break;
                }
            }
        }
        picked.retain(|p| Some(p.seller_id.as_str()) != own);
        picked.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        picked.dedup_by_key(|p| p.id);
        picked.truncate(first);
        Ok(picked)
    }
}

fn connection(
    page: Result<super::ProductPage, crate::StoreError>,
    has_previous_page: bool,
) -> Result<ProductConnection> {
    let page = page.map_err(|e| into_gql(e.into()))?;
    let cursors: Vec<&str> = page.items.iter().map(|(c, _)| c.as_str()).collect();
    let page_info = PageInfo::new(&cursors, has_previous_page, page.has_next_page);
    Ok(ProductConnection {
        edges: page
            .items
            .into_iter()
            .map(|(cursor, node)| ProductEdge { node, cursor })
            .collect(),
        page_info,
    })
}

fn reader<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<dyn CatalogReader>> {
    ctx.data::<Arc<dyn CatalogReader>>()
}
