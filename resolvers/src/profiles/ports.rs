use std::collections::HashMap;

use async_trait::async_trait;

use super::{Profile, ProfileUpdate};
use crate::StoreError;

/// Profiles keyed by user id.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    async fn get(&self, user_id: &str) -> Result<Option<Profile>, StoreError>;

    /// Many profiles in as few store calls as the store allows; absent ids are left out.
    async fn batch_get(&self, user_ids: &[String]) -> Result<HashMap<String, Profile>, StoreError>;

    /// Applies `update` to the user's own item (creating it if needed); returns the result.
    async fn update(&self, user_id: &str, update: ProfileUpdate) -> Result<Profile, StoreError>;
}
