//! The edge: every document is bounded and measured before async-graphql validates or runs
//! it (on queries, mutations and subscriptions alike), persisted and trusted documents, the
//! read-only marker of GET requests, introspection, and the execution deadline.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Answer, Harness, Setup};
use crate::{
    catalog::{AppliedVersion, live::encode_token},
    edge::{EdgeGuard, EdgeLimits, ReadOnly, persisted::sha256_hex},
    fakes::{documents::exponential_fragments, sample_product},
};

/// Asserts a refusal for passing `limit`, naming the limit, its maximum and the value.
#[track_caller]
fn too_complex(answer: &Answer, limit: &str, max: usize, actual: usize) {
    answer.refused("QUERY_TOO_COMPLEX", None);
    let ext = &answer.error()["extensions"];
    assert_eq!(
        (
            ext["limit"].as_str(),
            ext["max"].as_u64(),
            ext["actual"].as_u64()
        ),
        (Some(limit), Some(max as u64), Some(actual as u64)),
        "{ext}"
    );
    assert_eq!(answer.data, Value::Null);
}

#[tokio::test]
async fn fragments_that_expand_exponentially_are_refused_at_once() {
    let h = Harness::new();
    let started = Instant::now();
    let answer = h.gql(&exponential_fragments(30)).send().await;
    answer.refused("QUERY_TOO_COMPLEX", None);
    assert_eq!(answer.error()["extensions"]["limit"], "maxComplexity");
    assert!(answer.error()["extensions"]["actual"].as_u64().unwrap() > 2_000);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // A few levels are fine and run.
    let small = h.gql(&exponential_fragments(5)).send().await;
    assert_eq!(small.ok(), &json!({"__typename": "Query"}));
}

#[tokio::test]
async fn every_document_limit_is_named_when_passed() {
    let h = Harness::new();
    let deep = format!("{}{}", "{ a ".repeat(13), "}".repeat(13));
    too_complex(&h.gql(&deep).send().await, "maxDepth", 12, 13);
    let aliases: String = (0..65).map(|i| format!("a{i}: __typename ")).collect();
    too_complex(
        &h.gql(&format!("{{ {aliases} }}")).send().await,
        "maxAliases",
        64,
        65,
    );
    let skips = "@skip(if: false) ".repeat(6);
    too_complex(
        &h.gql(&format!("{{ __typename {skips} }}")).send().await,
        "maxDirectives",
        5,
        6,
    );
    let tokens = format!("{{ {} }}", "__typename ".repeat(5_000));
    too_complex(&h.gql(&tokens).send().await, "maxTokens", 5_000, 5_001);
    let nested = format!("{}{}", "{".repeat(65), "}".repeat(65));
    too_complex(&h.gql(&nested).send().await, "maxNesting", 64, 65);
    let large = format!("{}\n{{ __typename }}", "#".repeat(70_000));
    let answer = h.gql(&large).send().await;
    answer.refused("DOCUMENT_TOO_LARGE", None);
    assert_eq!(answer.error()["extensions"]["max"], 65_536);
    assert_eq!(answer.error()["extensions"]["actual"], large.len());
    // Exactly at the limits: past the edge (this one then fails validation: no field `a`).
    let twelve = format!("{}{}", "{ a ".repeat(12), "}".repeat(12));
    h.gql(&twelve)
        .send()
        .await
        .refused("GRAPHQL_VALIDATION_FAILED", None);
    let aliases: String = (0..64).map(|i| format!("a{i}: __typename ")).collect();
    let answer = h.gql(&format!("{{ {aliases} }}")).send().await;
    assert_eq!(answer.ok()["a63"], "Query");
    let skips = "@skip(if: false) ".repeat(5);
    let answer = h.gql(&format!("{{ __typename {skips} }}")).send().await;
    assert_eq!(answer.ok(), &json!({"__typename": "Query"}));
}

#[tokio::test]
async fn documents_that_are_not_graphql_or_not_this_schema_are_refused_by_code() {
    let h = Harness::new();
    h.gql("{ products(")
        .send()
        .await
        .refused("GRAPHQL_PARSE_FAILED", None);
    h.gql("   ")
        .send()
        .await
        .refused("BAD_REQUEST", Some("query"));
    h.gql("{ nope }")
        .send()
        .await
        .refused("GRAPHQL_VALIDATION_FAILED", None);
    h.gql(r#"{ products(first: "ten") { edges { cursor } } }"#)
        .send()
        .await
        .refused("GRAPHQL_VALIDATION_FAILED", None);
    let cycle = "query { ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A }";
    h.gql(cycle)
        .send()
        .await
        .refused("GRAPHQL_VALIDATION_FAILED", None);
}

#[tokio::test]
async fn subscriptions_pass_the_same_edge() {
    let h = Harness::new();
    let aliases: String = (0..65)
        .map(|i| format!("a{i}: heartbeat(count: 1, intervalMs: 100) {{ seq }} "))
        .collect();
    let answer = h
        .gql(&format!("subscription {{ {aliases} }}"))
        .stream()
        .next()
        .await;
    too_complex(&answer, "maxAliases", 64, 65);
}

const INTROSPECTION: &str = r"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}";

#[tokio::test]
async fn the_standard_introspection_query_answers() {
    let h = Harness::new();
    let answer = h.gql(INTROSPECTION).send().await;
    let schema = &answer.ok()["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    assert_eq!(schema["mutationType"]["name"], "Mutation");
    assert_eq!(schema["subscriptionType"]["name"], "Subscription");
    let product = schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Product")
        .unwrap();
    assert!(
        product["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "consistencyToken")
    );
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let h = Setup::limits(EdgeLimits {
        introspection: false,
        ..EdgeLimits::default()
    })
    .start();
    h.gql("{ __schema { queryType { name } } }")
        .send()
        .await
        .refused("INTROSPECTION_DISABLED", None);
    h.gql(r#"{ __type(name: "Product") { name } }"#)
        .send()
        .await
        .refused("INTROSPECTION_DISABLED", None);
    // `__typename` is not introspection.
    assert_eq!(
        h.gql("{ __typename }").send().await.ok(),
        &json!({"__typename": "Query"})
    );
}

fn persisted(hash: &str) -> Value {
    json!({"version": 1, "sha256Hash": hash})
}

#[tokio::test]
async fn automatic_persisted_queries_register_then_run_by_hash() {
    let h = Harness::new();
    let doc = "{ __typename }";
    let hash = sha256_hex(doc);
    let unknown = h
        .gql("")
        .extension("persistedQuery", persisted(&hash))
        .send()
        .await;
    unknown.refused("PERSISTED_QUERY_NOT_FOUND", None);
    assert_eq!(unknown.error()["message"], "PersistedQueryNotFound");
    h.gql(doc)
        .extension("persistedQuery", persisted(&hash))
        .send()
        .await
        .ok();
    let by_hash = h
        .gql("")
        .extension("persistedQuery", persisted(&hash.to_uppercase()))
        .send()
        .await;
    assert_eq!(by_hash.ok(), &json!({"__typename": "Query"}));

    h.gql(doc)
        .extension("persistedQuery", persisted(&sha256_hex("{ me { id } }")))
        .send()
        .await
        .refused("PERSISTED_QUERY_HASH_MISMATCH", None);
    h.gql(doc)
        .extension("persistedQuery", persisted("xyz"))
        .send()
        .await
        .refused("BAD_REQUEST", Some("extensions.persistedQuery.sha256Hash"));
    h.gql(doc)
        .extension("persistedQuery", json!({"version": 2, "sha256Hash": hash}))
        .send()
        .await
        .refused("BAD_REQUEST", Some("extensions.persistedQuery.version"));
    // A document that breaks a limit is never remembered.
    let heavy = exponential_fragments(30);
    let heavy_hash = sha256_hex(&heavy);
    h.gql(&heavy)
        .extension("persistedQuery", persisted(&heavy_hash))
        .send()
        .await
        .refused("QUERY_TOO_COMPLEX", None);
    h.gql("")
        .extension("persistedQuery", persisted(&heavy_hash))
        .send()
        .await
        .refused("PERSISTED_QUERY_NOT_FOUND", None);
}

#[tokio::test]
async fn persisted_queries_can_be_turned_off() {
    let h = Setup::limits(EdgeLimits {
        apq_cache_entries: 0,
        ..EdgeLimits::default()
    })
    .start();
    let doc = "{ __typename }";
    h.gql(doc)
        .extension("persistedQuery", persisted(&sha256_hex(doc)))
        .send()
        .await
        .refused("PERSISTED_QUERY_NOT_SUPPORTED", None);
    h.gql(doc).send().await.ok();
}

#[tokio::test]
async fn with_a_manifest_only_trusted_documents_run() {
    let limits = EdgeLimits::default();
    let doc = "{ __typename }";
    let hash = sha256_hex(doc);
    let manifest = json!({ hash.clone(): doc }).to_string();
    let trusted = EdgeGuard::load_manifest(&limits, &manifest).unwrap();
    let h = Setup {
        edge: EdgeGuard::new(limits.clone(), Some(trusted)),
        ..Setup::default()
    }
    .start();
    h.gql(doc).send().await.ok();
    let by_id = h
        .gql("")
        .extension("documentId", json!(format!("sha256:{hash}")))
        .send()
        .await;
    assert_eq!(by_id.ok(), &json!({"__typename": "Query"}));
    h.gql("{ __typename __typename }")
        .send()
        .await
        .refused("DOCUMENT_NOT_TRUSTED", None);
    h.gql("{ me { id } }")
        .extension("documentId", json!(hash))
        .send()
        .await
        .refused("PERSISTED_QUERY_HASH_MISMATCH", None);
    // A manifest holding a document the limits refuse is refused whole.
    let heavy = exponential_fragments(30);
    let manifest = json!({ sha256_hex(&heavy): heavy }).to_string();
    assert!(EdgeGuard::load_manifest(&limits, &manifest).is_err());
}

#[tokio::test]
async fn a_read_only_request_may_not_mutate() {
    let h = Harness::new();
    h.gql("mutation { becomeSeller }")
        .by(&super::buyer("ana"))
        .data(ReadOnly)
        .send()
        .await
        .refused("METHOD_NOT_ALLOWED", None);
    // In a document of several operations, what counts is the one that runs.
    let both = "query Q { __typename } mutation M { becomeSeller }";
    h.gql(both).operation("Q").data(ReadOnly).send().await.ok();
    h.gql(both)
        .operation("M")
        .by(&super::buyer("ana"))
        .data(ReadOnly)
        .send()
        .await
        .refused("METHOD_NOT_ALLOWED", None);
    h.gql("{ __typename }").data(ReadOnly).send().await.ok();
}

#[tokio::test]
async fn an_operation_past_its_deadline_is_a_timeout() {
    let h = Setup::limits(EdgeLimits {
        timeout: Duration::from_millis(50),
        ..EdgeLimits::default()
    })
    .start();
    let lamp = sample_product("sam", "Lamp", "lighting", 1);
    h.catalog.put(lamp.clone());
    let never = encode_token(&[AppliedVersion {
        id: lamp.id,
        version: 9,
    }]);
    let answer = h
        .gql("query($id: ID!, $c: [String!]) { product(id: $id, consistency: $c) { name } }")
        .vars(json!({"id": lamp.id, "c": [never]}))
        .send()
        .await;
    answer.refused("TIMEOUT", None);
    assert_eq!(answer.error()["extensions"]["limit"], "timeoutMs");
    assert_eq!(answer.error()["extensions"]["max"], 50);
}
