//! Profiles in memory. Updates are partial, as the DynamoDB `UpdateItem` the server uses: only
//! the attributes an update names change, so two updates of different parts never clobber
//! each other; an empty update creates nothing. Calls are counted so that tests can see
//! batching (`Product.seller` costs one `batch_get` per page).

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use async_trait::async_trait;

use super::poisoned;
use crate::{
    StoreError,
    profiles::{Profile, ProfileStore, ProfileUpdate},
};

/// Profiles keyed by user id.
#[derive(Default)]
pub struct FakeProfiles {
    profiles: Mutex<HashMap<String, Profile>>,
    get_calls: AtomicU64,
    batch_get_calls: AtomicU64,
}

impl FakeProfiles {
    /// Stores `profile` as is (replacing any other of the same user).
    pub fn seed(&self, profile: Profile) {
        if let Ok(mut profiles) = self.profiles.lock() {
            profiles.insert(profile.user_id.clone(), profile);
        }
    }

    /// The profile stored for `user_id` (no call is counted).
    pub fn stored(&self, user_id: &str) -> Option<Profile> {
        self.profiles.lock().ok()?.get(user_id).cloned()
    }

    /// `get` calls so far.
    pub fn get_calls(&self) -> u64 {
        self.get_calls.load(Ordering::Relaxed)
    }

    /// `batch_get` calls so far.
    pub fn batch_get_calls(&self) -> u64 {
        self.batch_get_calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl ProfileStore for FakeProfiles {
    async fn get(&self, user_id: &str) -> Result<Option<Profile>, StoreError> {
        self.get_calls.fetch_add(1, Ordering::Relaxed);
        Ok(self
            .profiles
            .lock()
            .map_err(|_| poisoned())?
            .get(user_id)
            .cloned())
    }

    async fn batch_get(&self, user_ids: &[String]) -> Result<HashMap<String, Profile>, StoreError> {
        self.batch_get_calls.fetch_add(1, Ordering::Relaxed);
        let profiles = self.profiles.lock().map_err(|_| poisoned())?;
        Ok(user_ids
            .iter()
            .filter_map(|id| profiles.get(id).map(|p| (id.clone(), p.clone())))
            .collect())
    }

    async fn update(&self, user_id: &str, update: ProfileUpdate) -> Result<Profile, StoreError> {
        let mut profiles = self.profiles.lock().map_err(|_| poisoned())?;
        if update.is_empty() {
            return Ok(profiles.get(user_id).cloned().unwrap_or_else(|| Profile {
                user_id: user_id.to_string(),
                ..Profile::default()
            }));
        }
        let profile = profiles
            .entry(user_id.to_string())
            .or_insert_with(|| Profile {
                user_id: user_id.to_string(),
                ..Profile::default()
            });
        if let Some(name) = update.display_name {
            profile.display_name = name;
        }
        if let Some(address) = update.shipping_address {
            profile.shipping_address = address;
        }
        if let Some(categories) = update.favorite_categories {
            profile.favorite_categories = categories;
        }
        if let Some(merchant) = update.merchant {
            profile.merchant = Some(merchant);
        }
        Ok(profile.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn updates_touch_only_what_they_name() {
        let store = FakeProfiles::default();
        let empty = store.update("u", ProfileUpdate::default()).await.unwrap();
        assert_eq!(empty.user_id, "u");
        assert_eq!(store.stored("u"), None, "an empty update creates nothing");
        store
            .update(
                "u",
                ProfileUpdate {
                    display_name: Some(Some("Ana".into())),
                    ..ProfileUpdate::default()
                },
            )
            .await
            .unwrap();
        let after = store
            .update(
                "u",
                ProfileUpdate {
                    favorite_categories: Some(vec!["books".into()]),
                    ..ProfileUpdate::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(after.display_name.as_deref(), Some("Ana"));
        assert_eq!(after.favorite_categories, ["books"]);
        let cleared = store
            .update(
                "u",
                ProfileUpdate {
                    display_name: Some(None),
                    ..ProfileUpdate::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(cleared.display_name, None);
        assert_eq!(cleared.favorite_categories, ["books"]);
        let many = store
            .batch_get(&["u".into(), "nobody".into()])
            .await
            .unwrap();
        assert_eq!(many.len(), 1);
        assert_eq!(store.batch_get_calls(), 1);
    }
}
