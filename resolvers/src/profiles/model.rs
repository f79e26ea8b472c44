use async_graphql::SimpleObject;
use serde::{Deserialize, Serialize};

use crate::address::Address;

/// A seller's public storefront information.
#[derive(SimpleObject, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantInfo {
    /// Store name shown to buyers.
    pub store_name: String,
    /// Store description shown to buyers.
    pub description: Option<String>,
}

/// Everything the profiles store keeps for one user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub user_id: String,
    pub display_name: Option<String>,
    pub shipping_address: Option<Address>,
    pub favorite_categories: Vec<String>,
    pub merchant: Option<MerchantInfo>,
}

/// A partial change. `None` keeps a value; `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    pub display_name: Option<Option<String>>,
    pub shipping_address: Option<Option<Address>>,
    pub favorite_categories: Option<Vec<String>>,
    pub merchant: Option<MerchantInfo>,
}

impl ProfileUpdate {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}
