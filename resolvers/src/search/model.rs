use async_graphql::{Enum, SimpleObject};

use crate::inventory::Product;

/// Deepest result a search pages to: relevance order is not stable while the index changes,
/// so pages past this would promise what they cannot keep.
pub const SEARCH_DEPTH: usize = 1000;
/// Longest search text, in characters.
pub const TEXT_MAX_CHARS: usize = 200;

/// The price ranges the `prices` facet counts, in minor units: `[min, max)`, `None` open.
pub const PRICE_RANGES: [(Option<i64>, Option<i64>); 5] = [
    (None, Some(1_000)),
    (Some(1_000), Some(5_000)),
    (Some(5_000), Some(10_000)),
    (Some(10_000), Some(50_000)),
    (Some(50_000), None),
];

/// Order of search results.
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SearchSort {
    /// Best match first; newest first among equal matches.
    #[default]
    Relevance,
    /// Newest first.
    Newest,
    /// Lowest price first.
    PriceLowToHigh,
    /// Highest price first.
    PriceHighToLow,
}

/// A facet a search can count.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SearchFacet {
    /// Matches per category.
    Category,
    /// Matches per seller.
    Seller,
    /// Matches per price range (lowest variant price).
    Price,
}

/// A checked search: what the index is asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// The words to find (trimmed, 1 to [`TEXT_MAX_CHARS`] characters).
    pub text: String,
    pub category: Option<String>,
    pub seller_id: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub sort: SearchSort,
    /// Results to skip, and to return: `offset + limit` ≤ [`SEARCH_DEPTH`].
    pub offset: usize,
    pub limit: usize,
    pub facets: Vec<SearchFacet>,
}

/// One value of a facet and how many matches have it.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct FacetCount {
    /// The value (a category, or a seller id).
    pub value: String,
    /// Matching products with that value.
    pub count: u64,
}

/// A price range and how many matches fall in it.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct PriceRangeCount {
    /// Lowest price in the range (minor units, inclusive); null: no lower bound.
    pub min: Option<i64>,
    /// Price the range stops below (minor units, exclusive); null: no upper bound.
    pub max: Option<i64>,
    /// Matching products whose lowest variant price is in the range.
    pub count: u64,
}

/// Counts over every match (not only the page), each list largest first; empty for a facet
/// not asked for.
#[derive(SimpleObject, Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFacets {
    /// Matches per category.
    pub categories: Vec<FacetCount>,
    /// Matches per seller (`value` is the seller's id).
    pub sellers: Vec<FacetCount>,
    /// Matches per price range, in price order (every range, zeros included).
    pub prices: Vec<PriceRangeCount>,
}

/// What the index found: one page of products and counts over all matches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchHits {
    pub products: Vec<Product>,
    /// Every match, not only this page.
    pub total: u64,
    pub facets: SearchFacets,
}
