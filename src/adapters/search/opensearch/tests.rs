//! The OpenSearch adapter, two ways. Without a cluster (none can be installed on this
//! project's machines): against a replay of request/response fixtures (`fixtures/*.json`),
//! which pins every request the adapter sends (path, versioning parameters, query body) and
//! reads answers in the shapes OpenSearch documents (409 version conflicts, aggregations,
//! errors). With a real cluster, when `MERCADO_TEST_OPENSEARCH_URL` names one: the whole search
//! contract, as the Tantivy engine runs it.
//!
//! The fixtures' answers were written from OpenSearch's API reference, not recorded from a
//! cluster. `MERCADO_BLESS_FIXTURES=1` rewrites a fixture's requests with what the adapter
//! sends now (answers kept), to review as a diff after a deliberate change.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::IntoResponse,
};
use mercado_resolvers::search::{SearchFacet, SearchRequest, SearchSort};

use super::*;
use crate::adapters::search::contract::{self, product};

/// One exchange of a fixture: what the adapter must send, and the answer it gets.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Exchange {
    request: Sent,
    response: Reply,
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct Sent {
    method: String,
    path: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    body: Value,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Reply {
    status: u16,
    #[serde(default)]
    body: Value,
}

#[derive(Default)]
struct Played {
    sent: Vec<Sent>,
    authorization: Vec<Option<String>>,
}

/// What the stand-in cluster's handler shares: the fixture and what it was sent.
type Script = (Arc<Vec<Exchange>>, Arc<Mutex<Played>>);

/// A stand-in cluster that answers a fixture's exchanges in order and keeps what it was sent.
struct Replay {
    name: &'static str,
    exchanges: Vec<Exchange>,
    played: Arc<Mutex<Played>>,
    url: String,
}

async fn answer(
    State((exchanges, played)): State<Script>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let mut played = played.lock().unwrap();
    let n = played.sent.len();
    played.sent.push(Sent {
        method: method.to_string(),
        path: uri.to_string(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    played.authorization.push(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    );
    match exchanges.get(n) {
        Some(e) => (
            StatusCode::from_u16(e.response.status).unwrap(),
            axum::Json(e.response.body.clone()),
        ),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "error": { "type": "fixture_exhausted" } })),
        ),
    }
}

impl Replay {
    async fn start(name: &'static str, fixture: &str) -> Self {
        let exchanges: Vec<Exchange> = serde_json::from_str(fixture).unwrap();
        let played = Arc::new(Mutex::new(Played::default()));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state((Arc::new(exchanges.clone()), played.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            name,
            exchanges,
            played,
            url,
        }
    }

    fn client(&self) -> OpenSearch {
        OpenSearch::new(&self.url, "products", OpenSearchAuth::None, &no_aws()).unwrap()
    }

    /// Every exchange was asked for, in order, exactly as the fixture says.
    fn finish(self) {
        let played = self.played.lock().unwrap();
        if std::env::var_os("MERCADO_BLESS_FIXTURES").is_some() {
            let blessed: Vec<Exchange> = played
                .sent
                .iter()
                .zip(&self.exchanges)
                .map(|(sent, e)| Exchange {
                    request: sent.clone(),
                    response: e.response.clone(),
                })
                .collect();
            let path = format!(
                "{}/src/adapters/search/opensearch/fixtures/{}.json",
                env!("CARGO_MANIFEST_DIR"),
                self.name
            );
            let text = serde_json::to_string_pretty(&blessed).unwrap();
            std::fs::write(path, text + "\n").unwrap();
            return;
        }
        let expected: Vec<&Sent> = self.exchanges.iter().map(|e| &e.request).collect();
        for (n, (sent, wanted)) in played.sent.iter().zip(&expected).enumerate() {
            assert_eq!(sent, *wanted, "{}: request {n}", self.name);
        }
        assert_eq!(
            played.sent.len(),
            expected.len(),
            "{}: requests sent",
            self.name
        );
    }
}

fn no_aws() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

#[tokio::test]
async fn the_index_is_created_with_its_mapping_once_and_a_second_create_is_fine() {
    let replay = Replay::start("create_index", include_str!("fixtures/create_index.json")).await;
    let search = replay.client();
    search.ensure_index().await.unwrap();
    search.ensure_index().await.unwrap();
    search.delete_index().await.unwrap();
    search.delete_index().await.unwrap();
    replay.finish();
}

#[tokio::test]
async fn writes_carry_the_event_version_and_a_conflict_is_a_stale_write() {
    let replay = Replay::start("writes", include_str!("fixtures/writes.json")).await;
    let search = replay.client();
    let lamp = product(1, "Desk lamp", "office", 2_500, 1);
    // Nothing written yet: nothing to refresh.
    assert!(!search.flush().await.unwrap());
    assert_eq!(search.upsert(&lamp).await.unwrap(), Upsert::Applied);
    assert_eq!(search.upsert(&lamp).await.unwrap(), Upsert::Stale);
    assert_eq!(search.rewrite(&lamp).await.unwrap(), Upsert::Applied);
    assert_eq!(search.tombstone(lamp.id, 2).await.unwrap(), Upsert::Applied);
    assert!(search.flush().await.unwrap());
    assert!(!search.flush().await.unwrap(), "refreshed already");
    replay.finish();
}

#[tokio::test]
async fn a_search_asks_every_word_with_its_filters_and_reads_hits_and_facets() {
    let replay = Replay::start("search", include_str!("fixtures/search.json")).await;
    let search = replay.client();
    let request = SearchRequest {
        text: "Brass lantren, for-the patio".into(),
        category: Some("lighting".into()),
        min_price: Some(1_000),
        max_price: Some(5_000),
        sort: SearchSort::Relevance,
        offset: 0,
        limit: 2,
        facets: vec![
            SearchFacet::Category,
            SearchFacet::Seller,
            SearchFacet::Price,
        ],
        ..SearchRequest::default()
    };
    let found = search.search(&request).await.unwrap();
    assert_eq!(found.total, 3);
    assert_eq!(
        found
            .products
            .iter()
            .map(|p| (p.id, p.name.as_str()))
            .collect::<Vec<_>>(),
        [
            (Uuid::from_u128(1), "Brass lantern"),
            (Uuid::from_u128(2), "Brass lantern, small")
        ]
    );
    let values = |list: &[mercado_resolvers::search::FacetCount]| {
        list.iter()
            .map(|f| (f.value.clone(), f.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(&found.facets.categories),
        [("lighting".to_string(), 3)]
    );
    assert_eq!(
        values(&found.facets.sellers),
        [("sam".to_string(), 2), ("eve".to_string(), 1)]
    );
    assert_eq!(
        found
            .facets
            .prices
            .iter()
            .map(|p| (p.min, p.max, p.count))
            .collect::<Vec<_>>(),
        [
            (None, Some(1_000), 0),
            (Some(1_000), Some(5_000), 3),
            (Some(5_000), Some(10_000), 0),
            (Some(10_000), Some(50_000), 0),
            (Some(50_000), None, 0),
        ]
    );

    // Newest first, one page further, no facets: no aggregations asked.
    let newest = SearchRequest {
        text: "lamp".into(),
        sort: SearchSort::Newest,
        offset: 20,
        limit: 20,
        ..SearchRequest::default()
    };
    let found = search.search(&newest).await.unwrap();
    assert_eq!(found.total, 20);
    assert!(found.products.is_empty());
    assert_eq!(found.facets, SearchFacets::default());
    replay.finish();
}

#[tokio::test]
async fn a_scan_pages_through_every_item_with_tombstones_and_digests() {
    let replay = Replay::start("scan", include_str!("fixtures/scan.json")).await;
    let mut search = replay.client();
    search.scan_page = 2;
    let items = search.scan().await.unwrap();
    assert_eq!(
        items,
        [
            ModelItem {
                id: Uuid::from_u128(1).to_string(),
                version: 1,
                deleted: false,
                digest: Some("a1".into()),
            },
            ModelItem {
                id: Uuid::from_u128(2).to_string(),
                version: 4,
                deleted: true,
                digest: None,
            },
            ModelItem {
                id: Uuid::from_u128(3).to_string(),
                version: 2,
                deleted: false,
                digest: Some("0f".into()),
            },
        ]
    );
    replay.finish();
}

#[tokio::test]
async fn an_overloaded_or_absent_cluster_is_unavailable_and_a_refused_query_is_not() {
    let replay = Replay::start("errors", include_str!("fixtures/errors.json")).await;
    let search = replay.client();
    let lamp = product(1, "Desk lamp", "office", 2_500, 1);
    assert!(matches!(
        search.search(&contract::ask("lamp")).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        search.upsert(&lamp).await,
        Err(StoreError::Unavailable(_))
    ));
    let refused = search.search(&contract::ask("lamp")).await;
    assert!(
        matches!(&refused, Err(StoreError::Internal(m)) if m.contains("parsing_exception") || m.contains("unknown query")),
        "{refused:?}"
    );
    // A failed refresh is asked for again at the next flush.
    assert_eq!(search.upsert(&lamp).await.unwrap(), Upsert::Applied);
    assert!(search.flush().await.is_err());
    assert!(search.flush().await.unwrap());
    replay.finish();

    let port = closed_port().await;
    let nobody = OpenSearch::new(
        &format!("http://127.0.0.1:{port}"),
        "products",
        OpenSearchAuth::None,
        &no_aws(),
    )
    .unwrap();
    assert!(matches!(
        nobody.search(&contract::ask("lamp")).await,
        Err(StoreError::Unavailable(_))
    ));
}

async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn requests_to_amazon_opensearch_are_signed_for_the_es_service() {
    let replay = Replay::start("signed", include_str!("fixtures/signed.json")).await;
    let aws = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
        .build();
    let search = OpenSearch::new(&replay.url, "products", OpenSearchAuth::Sigv4, &aws).unwrap();
    search.ensure_index().await.unwrap();
    let authorization = replay.played.lock().unwrap().authorization[0]
        .clone()
        .unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=ANOTREAL/")
            && authorization.contains("/eu-west-1/es/aws4_request")
            && authorization.contains("SignedHeaders=content-type;host;x-amz-date"),
        "{authorization}"
    );
    // Without credentials SigV4 cannot start.
    assert!(OpenSearch::new(&replay.url, "products", OpenSearchAuth::Sigv4, &no_aws()).is_err());
    replay.finish();
}

/// An empty index of its own on the cluster `MERCADO_TEST_OPENSEARCH_URL` names (SigV4 unless
/// `MERCADO_TEST_OPENSEARCH_AUTH=none`); indexes are named `mercado-contract-*`.
async fn real_cluster() -> OpenSearch {
    let url = std::env::var("MERCADO_TEST_OPENSEARCH_URL")
        .expect("MERCADO_TEST_OPENSEARCH_URL names the OpenSearch to run the contract against");
    let auth = match std::env::var("MERCADO_TEST_OPENSEARCH_AUTH").as_deref() {
        Ok("none") => OpenSearchAuth::None,
        _ => OpenSearchAuth::Sigv4,
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let index = format!("mercado-contract-{}", Uuid::new_v4().simple());
    let search = OpenSearch::new(&url, &index, auth, &aws).unwrap();
    search.ensure_index().await.unwrap();
    search
}

mod real {
    use super::*;

    contract::contract_tests!(
        real_cluster(),
        #[ignore = "needs an OpenSearch cluster: set MERCADO_TEST_OPENSEARCH_URL"]
    );
}
