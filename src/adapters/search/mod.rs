//! The search read model, two engines behind one port. Both are a [`ReadModel`] the projector
//! writes (version-guarded, deletes kept as tombstones so a late update cannot bring a product
//! back), a [`Flush`] that makes new documents searchable in batches, and a [`SearchIndex`]
//! the `search` query reads:
//!
//! - [`TantivySearch`]: embedded, one index directory per instance (the default);
//! - [`OpenSearch`]: Amazon OpenSearch Service (or any OpenSearch), one index every instance
//!   shares.
//!
//! Both match alike: every word of the text must match some field (name, category, variant
//! words, description, in that order of weight), words of [`FUZZY_FROM_CHARS`] characters or
//! more with one edit; newest first among equal matches.

mod opensearch;
mod tantivy_index;

#[cfg(test)]
mod contract;

use mercado_resolvers::{inventory::Product, search::SearchIndex};

pub use opensearch::{OpenSearch, OpenSearchAuth};
pub use tantivy_index::TantivySearch;

use crate::workers::{Flush, projector::ReadModel};

/// Words shorter than this must match exactly; longer ones allow one edit.
pub const FUZZY_FROM_CHARS: usize = 5;

/// Status of a deleted product's tombstone in either index.
const GONE: &str = "GONE";

/// A search engine as the server holds it: searched, written by a projector, flushed.
pub trait SearchModel: SearchIndex + ReadModel + Flush {}

impl<T: SearchIndex + ReadModel + Flush> SearchModel for T {}

/// The words of a product's variants (names, SKUs, attribute values), for free text.
fn variant_words(product: &Product) -> String {
    let mut words = Vec::new();
    for v in &product.variants {
        words.push(v.name.clone());
        words.push(v.sku.clone());
        if let Some(attributes) = v.attributes.0.as_object() {
            for value in attributes.values() {
                match value {
                    serde_json::Value::String(s) => words.push(s.clone()),
                    other => words.push(other.to_string()),
                }
            }
        }
    }
    words.join(" ")
}
