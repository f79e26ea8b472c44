//! Input checks shared by every context: violations are collected (so a form can mark every
//! offending field at once), each naming its field as the client sent it; plus ids.

use async_graphql::{ID, Result};
use uuid::Uuid;

use crate::{ApiError, error::into_gql};

/// Serialized size limit of free-form JSON objects (`info`, variant attributes).
pub const INFO_MAX_BYTES: usize = 16 * 1024;

/// Collects violations; every check names its field (`path.field`).
pub struct Checks {
    path: String,
    pub errors: Vec<ApiError>,
}

impl Checks {
    pub fn new(path: &str) -> Self {
        Self {
            path: path.to_string(),
            errors: Vec::new(),
        }
    }

    pub fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn fail(&mut self, name: &str, message: impl Into<String>) {
        let field = self.field(name);
        self.errors.push(ApiError::bad_input(field, message));
    }

    /// Trimmed text of `min..=max` characters.
    pub fn text(&mut self, name: &str, value: &str, min: usize, max: usize) -> String {
        let value = value.trim().to_string();
        let n = value.chars().count();
        if n < min {
            self.fail(
                name,
                if min == 1 {
                    "must not be empty".to_string()
                } else {
                    format!("must be at least {min} characters")
                },
            );
        } else if n > max {
            self.fail(name, format!("must be at most {max} characters"));
        }
        value
    }

    /// A JSON object of at most [`INFO_MAX_BYTES`].
    pub fn object(&mut self, name: &str, value: Option<serde_json::Value>) -> serde_json::Value {
        let value = match value {
            None | Some(serde_json::Value::Null) => serde_json::Value::Object(Default::default()),
            Some(v @ serde_json::Value::Object(_)) => v,
            Some(_) => {
                self.fail(name, "must be a JSON object");
                serde_json::Value::Object(Default::default())
            }
        };
        if serde_json::to_vec(&value).map_or(0, |b| b.len()) > INFO_MAX_BYTES {
            self.fail(
                name,
                format!("must be at most {INFO_MAX_BYTES} bytes of JSON"),
            );
        }
        value
    }

    pub fn finish<T>(self, value: T) -> Result<T, Vec<ApiError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// An id argument that must be a UUID; `BAD_USER_INPUT` naming `field` otherwise.
pub fn uuid(field: &str, id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| into_gql(ApiError::bad_input(field, "must be a UUID")))
}
