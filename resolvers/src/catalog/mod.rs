//! Catalog: the buyer's side. Reads come only from the read model (DynamoDB in the server),
//! which the projector keeps in step with PostgreSQL. `live` bridges the split: product streams
//! and read-your-writes waits driven by the projector's applied-version announcements.

pub mod live;
mod ports;
mod query;

pub use live::{CatalogFeed, CatalogSubscription, ProductChange, ProductGone};
pub use ports::{
    AppliedVersion, CatalogChanges, CatalogEntry, CatalogReader, ProductPage, ProductQuery,
    ProductSort,
};
pub use query::{CatalogQuery, ProductConnection, ProductEdge, ProductFilter};
