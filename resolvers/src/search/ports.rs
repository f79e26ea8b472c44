use async_trait::async_trait;

use super::{SearchHits, SearchRequest};
use crate::StoreError;

/// The search read model (Tantivy in the server). Only `ACTIVE` products match.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    async fn search(&self, request: &SearchRequest) -> Result<SearchHits, StoreError>;
}

/// The index of a server that keeps none: every search is `UNAVAILABLE`, saying why.
pub struct SearchOff(pub &'static str);

#[async_trait]
impl SearchIndex for SearchOff {
    async fn search(&self, _: &SearchRequest) -> Result<SearchHits, StoreError> {
        Err(StoreError::Unavailable(self.0.into()))
    }
}
