//! Search: free text over the active catalog with typo tolerance, filters and facet counts,
//! served by a search read model fed by the same outbox events as the catalog (Tantivy on
//! local disk in the server). This context holds the request and result model, the port and
//! the `search` query.

mod model;
mod ports;
mod query;

pub use model::{
    FacetCount, PRICE_RANGES, PriceRangeCount, SEARCH_DEPTH, SearchFacet, SearchFacets, SearchHits,
    SearchRequest, SearchSort, TEXT_MAX_CHARS,
};
pub use ports::{SearchIndex, SearchOff};
pub use query::{SearchQuery, SearchResults};
