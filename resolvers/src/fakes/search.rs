//! A search index that answers what a test sets and remembers what it was asked, so resolver
//! tests see how requests are checked and results paged. Matching itself is the engine's: it
//! is tested over the real index (Tantivy, embedded) in the server crate.

use std::sync::Mutex;

use async_trait::async_trait;

use super::poisoned;
use crate::{
    StoreError,
    search::{SearchHits, SearchIndex, SearchRequest},
};

/// Answers `hits` paged by the request's offset and limit; records every request.
#[derive(Default)]
pub struct FakeSearch {
    hits: Mutex<SearchHits>,
    requests: Mutex<Vec<SearchRequest>>,
}

impl FakeSearch {
    /// What every search finds from now on (`total` included).
    pub fn answer(&self, hits: SearchHits) {
        if let Ok(mut h) = self.hits.lock() {
            *h = hits;
        }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<SearchRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl SearchIndex for FakeSearch {
    async fn search(&self, request: &SearchRequest) -> Result<SearchHits, StoreError> {
        self.requests
            .lock()
            .map_err(|_| poisoned())?
            .push(request.clone());
        let all = self.hits.lock().map_err(|_| poisoned())?.clone();
        Ok(SearchHits {
            products: all
                .products
                .into_iter()
                .skip(request.offset)
                .take(request.limit)
                .collect(),
            ..all
        })
    }
}
