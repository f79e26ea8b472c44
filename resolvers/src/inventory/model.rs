use async_graphql::{ComplexObject, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ApiError;

/// A product: the whole document, as PostgreSQL commits it and as events carry it to the catalog.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[graphql(complex)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    #[graphql(skip)]
    pub id: Uuid,
    /// The seller's user id (the subject of the token that created it).
    pub seller_id: String,
    /// Display name.
    pub name: String,
    /// Category used for browsing; also kept as `info.category` for the original API.
    pub category: String,
    /// Free-form attributes (a JSON object).
    pub info: Json<serde_json::Value>,
    /// Grows by one on every change; the read model accepts only newer versions.
    pub version: i64,
    /// When the product was created.
    pub created_at: DateTime<Utc>,
    /// When the product last changed.
    pub updated_at: DateTime<Utc>,
}

#[ComplexObject]
impl Product {
    /// Stable identifier (a UUID).
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The seller's public view (batched: one store call per page of products).
    async fn seller(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<crate::profiles::Seller> {
        crate::profiles::load_seller(ctx, &self.seller_id).await
    }
}

/// A validated new product, ready for a store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewProduct {
    pub name: String,
    pub category: String,
    /// A JSON object whose `category` equals `category`.
    pub info: serde_json::Value,
}

pub const NAME_MAX_CHARS: usize = 200;
pub const CATEGORY_MAX_CHARS: usize = 100;
/// Serialized size limit of `info`.
pub const INFO_MAX_BYTES: usize = 16 * 1024;

/// Checks a new product's fields and normalises them (trimmed strings, `info.category` set).
/// `path` prefixes the field names in errors (`input` for GraphQL, empty for REST).
pub fn validate_new_product(
    path: &str,
    name: &str,
    category: Option<&str>,
    info: Option<serde_json::Value>,
) -> Result<NewProduct, Vec<ApiError>> {
    let field = |f: &str| {
        if path.is_empty() {
            f.to_string()
        } else {
            format!("{path}.{f}")
        }
    };
    let mut errors = Vec::new();

    let name = name.trim().to_string();
    if name.is_empty() {
        errors.push(ApiError::bad_input(field("name"), "must not be empty"));
    } else if name.chars().count() > NAME_MAX_CHARS {
        errors.push(ApiError::bad_input(
            field("name"),
            format!("must be at most {NAME_MAX_CHARS} characters"),
        ));
    }

    let mut info = match info {
        None | Some(serde_json::Value::Null) => serde_json::Value::Object(Default::default()),
        Some(v @ serde_json::Value::Object(_)) => v,
        Some(_) => {
            errors.push(ApiError::bad_input(field("info"), "must be a JSON object"));
            serde_json::Value::Object(Default::default())
        }
    };
    if serde_json::to_vec(&info).map_or(0, |b| b.len()) > INFO_MAX_BYTES {
        errors.push(ApiError::bad_input(
            field("info"),
            format!("must be at most {INFO_MAX_BYTES} bytes of JSON"),
        ));
    }

    // The original API keeps the category inside `info`; GraphQL has it as its own field.
    let info_category = info.get("category").cloned();
    let category = match (category, info_category) {
        (Some(c), _) => Some(c.trim().to_string()),
        (None, Some(serde_json::Value::String(c))) => Some(c.trim().to_string()),
        (None, Some(_)) => {
            errors.push(ApiError::bad_input(
                field("info.category"),
                "must be a string",
            ));
            None
        }
        (None, None) => None,
    };
    let category = match category {
        None => {
            errors.push(ApiError::bad_input(field("category"), "is required"));
            String::new()
        }
        Some(c) if c.is_empty() => {
            errors.push(ApiError::bad_input(field("category"), "must not be empty"));
            c
        }
        Some(c) if c.chars().count() > CATEGORY_MAX_CHARS => {
            errors.push(ApiError::bad_input(
                field("category"),
                format!("must be at most {CATEGORY_MAX_CHARS} characters"),
            ));
            c
        }
        Some(c) => c,
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    if let serde_json::Value::Object(map) = &mut info {
        map.insert(
            "category".into(),
            serde_json::Value::String(category.clone()),
        );
    }
    Ok(NewProduct {
        name,
        category,
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn category_comes_from_info_like_the_original_api() {
        let p = validate_new_product("", " test ", None, Some(json!({"category": "test"})))
            .expect("valid");
        assert_eq!(p.name, "test");
        assert_eq!(p.category, "test");
        assert_eq!(p.info, json!({"category": "test"}));
    }

    #[test]
    fn explicit_category_wins_and_is_mirrored_into_info() {
        let p = validate_new_product(
            "input",
            "Mug",
            Some("kitchen"),
            Some(json!({"colour": "red"})),
        )
        .expect("valid");
        assert_eq!(p.info, json!({"colour": "red", "category": "kitchen"}));
    }

    #[test]
    fn every_violation_names_its_field() {
        let errs =
            validate_new_product("input", "  ", None, Some(json!([1, 2]))).expect_err("invalid");
        let fields: Vec<_> = errs.iter().filter_map(|e| e.field()).collect();
        assert_eq!(fields, ["input.name", "input.info", "input.category"]);
    }

    #[test]
    fn oversized_values_are_refused() {
        let long = "x".repeat(NAME_MAX_CHARS + 1);
        let big = json!({"blob": "y".repeat(INFO_MAX_BYTES)});
        let errs = validate_new_product("", &long, Some("c"), Some(big)).expect_err("invalid");
        let fields: Vec<_> = errs.iter().filter_map(|e| e.field()).collect();
        assert_eq!(fields, ["name", "info"]);
    }
}
