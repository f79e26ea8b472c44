//! Catalog: the buyer's side. Reads come only from the read model (DynamoDB in the server),
//! which the projector keeps in step with PostgreSQL.

mod ports;
mod query;

pub use ports::{CatalogReader, ProductPage, ProductQuery, ProductSort};
pub use query::{CatalogQuery, ProductConnection, ProductEdge, ProductFilter};
