use async_graphql::SimpleObject;
use serde::{Deserialize, Serialize};

/// A postal address.
#[derive(SimpleObject, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Recipient name.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, building.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `ES`.
    pub country: String,
}

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
