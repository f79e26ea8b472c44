//! User profiles on DynamoDB: one item per user id. Writes touch only the attributes they
//! change (`UpdateItem`), so two mutations on different parts of a profile never clobber each
//! other.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
};

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    error::DisplayErrorContext,
    types::{AttributeValue, ReturnValue},
};
use mercado_resolvers::{
    StoreError,
    address::Address,
    profiles::{MerchantInfo, Profile, ProfileStore, ProfileUpdate},
};

pub const ATTR_USER_ID: &str = "user_id";
const ATTR_DISPLAY_NAME: &str = "display_name";
const ATTR_SHIPPING_ADDRESS: &str = "shipping_address";
const ATTR_FAVORITE_CATEGORIES: &str = "favorite_categories";
const ATTR_STORE_NAME: &str = "store_name";
const ATTR_STORE_DESCRIPTION: &str = "store_description";

type Item = HashMap<String, AttributeValue>;

pub struct DynamoProfiles {
    client: Client,
    table: String,
    batch_get_calls: AtomicU64,
}

impl DynamoProfiles {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            batch_get_calls: AtomicU64::new(0),
        }
    }

    /// How many `BatchGetItem` calls this store has made (for tests and metrics).
    pub fn batch_get_calls(&self) -> u64 {
        self.batch_get_calls.load(Ordering::Relaxed)
    }

    fn key(user_id: &str) -> Item {
        HashMap::from([(
            ATTR_USER_ID.to_string(),
            AttributeValue::S(user_id.to_string()),
        )])
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("dynamodb {what}: {e}"))
}

fn s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn decode(item: &Item) -> Option<Profile> {
    let user_id = s(item, ATTR_USER_ID)?;
    let favorite_categories = match item.get(ATTR_FAVORITE_CATEGORIES) {
        Some(AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
        }
        _ => Vec::new(),
    };
    Some(Profile {
        user_id,
        display_name: s(item, ATTR_DISPLAY_NAME),
        shipping_address: s(item, ATTR_SHIPPING_ADDRESS)
            .and_then(|json| serde_json::from_str::<Address>(&json).ok()),
        favorite_categories,
        merchant: s(item, ATTR_STORE_NAME).map(|store_name| MerchantInfo {
            store_name,
            description: s(item, ATTR_STORE_DESCRIPTION),
        }),
    })
}

#[async_trait]
impl ProfileStore for DynamoProfiles {
    async fn get(&self, user_id: &str) -> Result<Option<Profile>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user_id)))
            .send()
            .await
            .map_err(|e| unavailable("get profile", DisplayErrorContext(&e)))?;
        Ok(out.item().and_then(decode))
    }

    async fn batch_get(&self, user_ids: &[String]) -> Result<HashMap<String, Profile>, StoreError> {
        let mut unique: Vec<&String> = user_ids.iter().collect();
        unique.sort();
        unique.dedup();
        let keys = unique.iter().map(|id| Self::key(id)).collect();
        let items = super::batch_get(
            &self.client,
            &self.table,
            keys,
            false,
            &[],
            &self.batch_get_calls,
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(decode)
            .map(|p| (p.user_id.clone(), p))
            .collect())
    }

    async fn update(&self, user_id: &str, update: ProfileUpdate) -> Result<Profile, StoreError> {
        if update.is_empty() {
            return Ok(self.get(user_id).await?.unwrap_or_else(|| Profile {
                user_id: user_id.to_string(),
                ..Profile::default()
            }));
        }
        let mut sets: Vec<String> = Vec::new();
        let mut removes: Vec<String> = Vec::new();
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut set = |attr: &str, value: Option<AttributeValue>| {
            let name = format!("#{attr}");
            names.insert(name.clone(), attr.to_string());
            match value {
                Some(v) => {
                    let placeholder = format!(":{attr}");
                    sets.push(format!("{name} = {placeholder}"));
                    values.insert(placeholder, v);
                }
                None => removes.push(name),
            }
        };
        if let Some(name) = update.display_name {
            set(ATTR_DISPLAY_NAME, name.map(AttributeValue::S));
        }
        if let Some(address) = update.shipping_address {
            let json = address
                .map(|a| serde_json::to_string(&a))
                .transpose()
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            set(ATTR_SHIPPING_ADDRESS, json.map(AttributeValue::S));
        }
        if let Some(categories) = update.favorite_categories {
            set(
                ATTR_FAVORITE_CATEGORIES,
                Some(AttributeValue::L(
                    categories.into_iter().map(AttributeValue::S).collect(),
                )),
            );
        }
        if let Some(merchant) = update.merchant {
            set(
                ATTR_STORE_NAME,
                Some(AttributeValue::S(merchant.store_name)),
            );
            set(
                ATTR_STORE_DESCRIPTION,
                merchant.description.map(AttributeValue::S),
            );
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user_id)))
            .update_expression(expression.trim())
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| unavailable("update profile", DisplayErrorContext(&e)))?;
        out.attributes()
            .and_then(decode)
            .ok_or_else(|| StoreError::Internal("update returned no profile".into()))
    }
}
