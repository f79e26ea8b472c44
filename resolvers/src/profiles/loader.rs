use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;

use super::{ProfileStore, Seller};

/// Batches `Product.seller` look-ups within one request into one `batch_get`.
pub struct SellerLoader {
    store: Arc<dyn ProfileStore>,
}

impl SellerLoader {
    pub fn new(store: Arc<dyn ProfileStore>) -> Self {
        Self { store }
    }
}

impl Loader<String> for SellerLoader {
    type Value = Seller;
    type Error = Arc<crate::StoreError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Seller>, Self::Error> {
        let profiles = self.store.batch_get(keys).await.map_err(Arc::new)?;
        Ok(profiles
            .into_iter()
            .map(|(id, p)| (id, Seller::from_profile(&p)))
            .collect())
    }
}
