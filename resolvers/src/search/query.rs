use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{
    SEARCH_DEPTH, SearchFacet, SearchFacets, SearchIndex, SearchRequest, SearchSort, TEXT_MAX_CHARS,
};
use crate::{
    ApiError,
    catalog::{ProductEdge, ProductFilter},
    checks::Checks,
    error::{into_gql, violations_into_gql},
    page::{PageInfo, page_size},
};

/// One page of search results, with counts over every match.
#[derive(SimpleObject)]
pub struct SearchResults {
    /// The products on this page, best first (or in the order asked), each with its cursor.
    pub edges: Vec<ProductEdge>,
    /// Where this page sits in the results.
    pub page_info: PageInfo,
    /// How many active products match, beyond the pages a search can reach too.
    pub total: u64,
    /// Counts per category, seller and price range over every match.
    pub facets: SearchFacets,
}

/// Search reads.
#[derive(Default)]
pub struct SearchQuery;

/// `after` for the result at `position` (0-based): resume right after it.
fn cursor(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("search:{}", position + 1))
}

/// The offset an `after` cursor resumes at; `None` when it is not a search cursor.
fn offset(after: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(after).ok()?).ok()?;
    text.strip_prefix("search:")?.parse().ok()
}

#[Object]
impl SearchQuery {
    /// Searches active products: every word of `query` must appear in the name, description,
    /// category or a variant's name, SKU or attributes (words of five letters or more also
    /// match with one typo; a query needs at least one letter or digit). Best matches first, newest first among equals, unless `sort`
    /// says otherwise. `query` is 1 to 200 characters; `first` 1 to 100 (default 20); `facets`
    /// are counted over every match. Results stop at the 1000th (relevance order is not
    /// stable while the catalog changes, so deeper pages could not be trusted): narrow the
    /// search instead. A change reaches search results as it reaches the catalog, through
    /// the same events.
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        filter: Option<ProductFilter>,
        #[graphql(default)] sort: SearchSort,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        #[graphql(
            default_with = "vec![SearchFacet::Category, SearchFacet::Seller, SearchFacet::Price]"
        )]
        facets: Vec<SearchFacet>,
    ) -> Result<SearchResults> {
        let filter = filter.unwrap_or_default();
        let mut checks = Checks::new("");
        let text = checks.text("query", &query, 1, TEXT_MAX_CHARS);
        // Punctuation alone holds no word to look for: it would match everything.
        if !text.is_empty() && !text.chars().any(char::is_alphanumeric) {
            checks.fail("query", "must contain a letter or a digit");
        }
        for (field, value) in [
            ("minPrice", filter.min_price),
            ("maxPrice", filter.max_price),
        ] {
            if value.is_some_and(|v| v < 0) {
                checks.fail(&format!("filter.{field}"), "must not be negative");
            }
        }
        let start = match after.as_deref().map(offset) {
            None => 0,
            Some(Some(n)) if n < SEARCH_DEPTH => n,
            Some(Some(_)) => {
                checks.fail(
                    "after",
                    format!("search results stop at the {SEARCH_DEPTH}th: narrow the search"),
                );
                0
            }
            Some(None) => {
                checks.fail("after", "is not a cursor from this search");
                0
            }
        };
        checks.finish(()).map_err(violations_into_gql)?;
        let first = page_size(first)?;
        let request = SearchRequest {
            text,
            category: filter.category,
            seller_id: filter.seller_id.map(|ID(id)| id),
            min_price: filter.min_price,
            max_price: filter.max_price,
            sort,
            offset: start,
            limit: first.min(SEARCH_DEPTH - start),
            facets,
        };
        let index = ctx.data::<Arc<dyn SearchIndex>>()?;
        let hits = index
            .search(&request)
            .await
            .map_err(|e| into_gql(ApiError::from(e)))?;
        let reachable = usize::try_from(hits.total).map_or(SEARCH_DEPTH, |t| t.min(SEARCH_DEPTH));
        let end = start + hits.products.len();
        let edges: Vec<ProductEdge> = hits
            .products
            .into_iter()
            .enumerate()
            .map(|(i, node)| ProductEdge {
                node,
                cursor: cursor(start + i),
            })
            .collect();
        let cursors: Vec<&str> = edges.iter().map(|e| e.cursor.as_str()).collect();
        let page_info = PageInfo::new(&cursors, start > 0, end < reachable);
        Ok(SearchResults {
            edges,
            page_info,
            total: hits.total,
            facets: hits.facets,
        })
    }
}
