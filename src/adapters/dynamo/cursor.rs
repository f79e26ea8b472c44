//! Opaque page cursors: base64url of the index key where a page resumes. A cursor names its
//! listing, so one from another listing is refused instead of silently skipping items.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mercado_resolvers::{Rejected, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The listing: index name and direction.
    #[serde(rename = "i")]
    pub index: String,
    /// The index's partition value (the category, or the listing).
    #[serde(rename = "p")]
    pub partition: String,
    /// `listed_sort` of the last item seen.
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "k")]
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // Serializing plain strings cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes `after` and checks it belongs to the listing being read.
    pub fn decode(raw: &str, index: &str, partition: &str) -> Result<Self, StoreError> {
        let invalid = |message: &str| StoreError::Rejected {
            what: Rejected::Cursor,
            message: message.into(),
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| invalid("is not a cursor from this API"))?;
        let cursor: Cursor =
            serde_json::from_slice(&bytes).map_err(|_| invalid("is not a cursor from this API"))?;
        if cursor.index != index || cursor.partition != partition {
            return Err(invalid("belongs to another listing"));
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            index: "by_category".into(),
            partition: "books".into(),
            sort: "2026-01-01T00:00:00.000000Z#x".into(),
            id: "x".into(),
        }
    }

    #[test]
    fn round_trips() {
        let c = cursor();
        assert_eq!(
            Cursor::decode(&c.encode(), "by_category", "books").ok(),
            Some(c)
        );
    }

    #[test]
    fn garbage_and_foreign_cursors_name_after() {
        for (raw, message) in [
            ("%%%".to_string(), "is not a cursor from this API"),
            (
                URL_SAFE_NO_PAD.encode(b"{}"),
                "is not a cursor from this API",
            ),
            (cursor().encode(), "belongs to another listing"),
        ] {
            match Cursor::decode(&raw, "by_category", "music") {
                Err(StoreError::Rejected { what, message: m }) => {
                    assert_eq!(what, Rejected::Cursor);
                    assert_eq!(m, message);
                }
                other => panic!("expected a rejected cursor, got {other:?}"),
            }
        }
    }
}
