//! Documents named by hash: Apollo's automatic persisted queries (a client sends
//! `extensions.persistedQuery.sha256Hash`, then the document once when the server answers
//! `PersistedQueryNotFound`), and trusted documents (a manifest of the operations a first-party
//! client may send; nothing else runs).

use std::{collections::HashMap, num::NonZeroUsize, sync::Mutex};

use async_graphql::{Extensions, Value, parser::types::ExecutableDocument};
use sha2::{Digest, Sha256};

use super::Refusal;

/// A document that passed every check, kept parsed so that a hit skips the parser.
#[derive(Clone)]
pub struct Admitted {
    pub text: String,
    pub doc: ExecutableDocument,
}

/// Lowercase hex SHA-256 of a document, as clients compute it.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash a request names, from `extensions.persistedQuery` (Apollo) or `documentId`
/// (`sha256:<hex>` or bare hex, as trusted-document clients send it).
pub fn requested_hash(extensions: &Extensions) -> Result<Option<String>, Refusal> {
    let hash = match extensions.0.get("persistedQuery") {
        Some(Value::Object(pq)) => {
            if let Some(version) = pq.get("version")
                && version != &Value::from(1)
            {
                return Err(Refusal::bad_request(
                    "extensions.persistedQuery.version",
                    "only version 1 is supported",
                ));
            }
            match pq.get("sha256Hash") {
                Some(Value::String(h)) => h.clone(),
                _ => {
                    return Err(Refusal::bad_request(
                        "extensions.persistedQuery.sha256Hash",
                        "must be a string",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(Refusal::bad_request(
                "extensions.persistedQuery",
                "must be an object",
            ));
        }
        None => match extensions.0.get("documentId") {
            Some(Value::String(id)) => id.strip_prefix("sha256:").unwrap_or(id).to_string(),
            Some(_) => {
                return Err(Refusal::bad_request("documentId", "must be a string"));
            }
            None => return Ok(None),
        },
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::bad_request(
            "extensions.persistedQuery.sha256Hash",
            "must be 64 hex digits (SHA-256)",
        ));
    }
    Ok(Some(hash.to_ascii_lowercase()))
}

/// Recently used documents by key (a hash for automatic persisted queries, the text for the
/// gate's own memory), bounded in entries.
pub struct DocumentCache(Mutex<lru::LruCache<String, Admitted>>);

impl DocumentCache {
    pub fn new(entries: NonZeroUsize) -> Self {
        Self(Mutex::new(lru::LruCache::new(entries)))
    }

    pub fn get(&self, hash: &str) -> Option<Admitted> {
        self.0.lock().ok()?.get(hash).cloned()
    }

    pub fn put(&self, hash: String, admitted: Admitted) {
        if let Ok(mut cache) = self.0.lock() {
            cache.put(hash, admitted);
        }
    }
}

/// The operations a trusted-documents deployment allows, by hash.
pub struct TrustedDocuments(HashMap<String, Admitted>);

/// Why a manifest cannot be used; the server refuses to start with it.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not a manifest: {0}")]
    Format(String),
    #[error("operation {id}: its body hashes to {actual}")]
    HashMismatch { id: String, actual: String },
    #[error("operation {id}: {refusal}")]
    Refused { id: String, refusal: Refusal },
}

impl TrustedDocuments {
    /// Reads a manifest: either a JSON object `{ "<sha256>": "<document>", … }` (graphql-codegen,
    /// gql.tada) or Apollo's `{ "format": "apollo-persisted-query-manifest", "operations": [{
    /// "id", "body", … }] }`. Every id must be the SHA-256 of its body, and every body must
    /// pass the document limits: a manifest the server would refuse to run is an error now.
    pub fn from_manifest(
        json: &str,
        admit: impl Fn(&str) -> Result<ExecutableDocument, Refusal>,
    ) -> Result<Self, ManifestError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ManifestError::Format(e.to_string()))?;
        let pairs: Vec<(String, String)> = match value.get("operations") {
            Some(serde_json::Value::Array(ops)) => ops
                .iter()
                .map(|op| match (op["id"].as_str(), op["body"].as_str()) {
                    (Some(id), Some(body)) => Ok((id.to_string(), body.to_string())),
                    _ => Err(ManifestError::Format(
                        "each operation needs string `id` and `body`".into(),
                    )),
                })
                .collect::<Result<_, _>>()?,
            _ => value
                .as_object()
                .ok_or_else(|| ManifestError::Format("expected a JSON object".into()))?
                .iter()
                .map(|(id, body)| match body.as_str() {
                    Some(body) => Ok((id.clone(), body.to_string())),
                    None => Err(ManifestError::Format(format!(
                        "{id}: body must be a string"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        };
        let mut documents = HashMap::with_capacity(pairs.len());
        for (id, body) in pairs {
            let id = id
                .strip_prefix("sha256:")
                .unwrap_or(&id)
                .to_ascii_lowercase();
            let actual = sha256_hex(&body);
            if actual != id {
                return Err(ManifestError::HashMismatch { id, actual });
            }
            let doc = admit(&body).map_err(|refusal| ManifestError::Refused {
                id: id.clone(),
                refusal,
            })?;
            documents.insert(id, Admitted { text: body, doc });
        }
        Ok(Self(documents))
    }

    pub fn get(&self, hash: &str) -> Option<Admitted> {
        self.0.get(hash).cloned()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use async_graphql::parser::parse_query;

    use super::*;

    fn parse(text: &str) -> Result<ExecutableDocument, Refusal> {
        parse_query(text).map_err(|e| Refusal::Parse(e.to_string()))
    }

    #[test]
    fn hashes_are_lowercase_sha256_hex() {
        // sha256("") is well known.
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn both_manifest_formats_load_and_a_wrong_id_is_refused() {
        let body = "{ __typename }";
        let id = sha256_hex(body);
        let map = serde_json::json!({ id.clone(): body }).to_string();
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": id, "name": "T", "type": "query", "body": body}]
        })
        .to_string();
        for manifest in [map, apollo] {
            let trusted = TrustedDocuments::from_manifest(&manifest, parse).unwrap();
            assert_eq!(trusted.get(&id).unwrap().text, body);
        }
        let wrong = serde_json::json!({ "00".repeat(32): body }).to_string();
        assert!(matches!(
            TrustedDocuments::from_manifest(&wrong, parse),
            Err(ManifestError::HashMismatch { .. })
        ));
    }

    #[test]
    fn requested_hash_reads_apollo_and_document_id() {
        let hash = "A".repeat(64);
        let apollo: Extensions = serde_json::from_value(serde_json::json!({
            "persistedQuery": {"version": 1, "sha256Hash": hash}
        }))
        .unwrap();
        assert_eq!(requested_hash(&apollo).unwrap(), Some("a".repeat(64)));
        let id: Extensions =
            serde_json::from_value(serde_json::json!({"documentId": format!("sha256:{hash}")}))
                .unwrap();
        assert_eq!(requested_hash(&id).unwrap(), Some("a".repeat(64)));
        let bad: Extensions =
            serde_json::from_value(serde_json::json!({"persistedQuery": {"sha256Hash": "xyz"}}))
                .unwrap();
        assert!(requested_hash(&bad).is_err());
        assert_eq!(requested_hash(&Extensions::default()).unwrap(), None);
    }
}
