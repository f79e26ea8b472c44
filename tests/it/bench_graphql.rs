//! Benchmark (ignored by default; `scripts/bench` runs it in release): what the GraphQL layer
//! costs. The server's own router (edge, GraphQL over HTTP, the schema, the seller DataLoader)
//! over in-memory catalog and profile ports, against a bare axum handler that reads the same
//! ports and writes the same JSON, driven by the same load generator in the same process.
//!
//!     scripts/test --test it bench_graphql -- --ignored --nocapture

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark here

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use axum::{Json, Router, extract::State, routing::get};
use mercado::{
    adapters::auth::TokenVerifier,
    http::{AppState, ImageObject, ImageSource},
};
use mercado_resolvers::{
    Ports, StoreError,
    catalog::{CatalogReader, ProductQuery},
    fakes::{
        FakeCatalog, FakeIdentity, FakeImages, FakeInventory, FakeOrders, FakeProfiles, FakeSearch,
        FakeThrottle, sample_product,
    },
    inventory::Product,
    profiles::{MerchantInfo, Profile, ProfileStore},
};
use serde_json::{Value, json};

use crate::common::{Stack, bench_quick, bench_record, ms, percentile};

const PRODUCT: &str = "query($id: ID!) { product(id: $id) { id name category status version variants { id sku name price { amount currency } available } } }";
const PAGE: &str = "{ products(first: 20) { edges { cursor node { id name category variants { price { amount currency } } seller { storeName } } } pageInfo { hasNextPage endCursor } } }";

struct NoImages;

#[async_trait]
impl ImageSource for NoImages {
    async fn open(&self, _: &str) -> Result<Option<ImageObject>, StoreError> {
        Ok(None)
    }
}

#[derive(Clone)]
struct Bare {
    catalog: Arc<FakeCatalog>,
    profiles: Arc<FakeProfiles>,
}

fn variant_json(product: &Product, full: bool) -> Value {
    Value::Array(
        product
            .variants
            .iter()
            .map(|v| {
                if full {
                    json!({"id": v.id.to_string(), "sku": v.sku, "name": v.name,
                           "price": {"amount": v.price.amount, "currency": v.price.currency},
                           "available": v.on_hand - v.held})
                } else {
                    json!({"price": {"amount": v.price.amount, "currency": v.price.currency}})
                }
            })
            .collect(),
    )
}

/// `product(id)`'s answer, written by hand.
async fn bare_product(
    State(bare): State<Bare>,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
) -> Json<Value> {
    let product = bare.catalog.product(id).await.unwrap().unwrap();
    Json(json!({"data": {"product": {
        "id": product.id.to_string(), "name": product.name, "category": product.category,
        "status": product.status.as_str(), "version": product.version,
        "variants": variant_json(&product, true),
    }}}))
}

/// `products(first: 20)`'s answer with each seller's store name (one batch read), by hand.
async fn bare_page(State(bare): State<Bare>) -> Json<Value> {
    let page = bare
        .catalog
        .products(ProductQuery {
            first: 20,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    let mut sellers: Vec<String> = page
        .items
        .iter()
        .map(|(_, p)| p.seller_id.clone())
        .collect();
    sellers.sort();
    sellers.dedup();
    let profiles = bare.profiles.batch_get(&sellers).await.unwrap();
    let edges: Vec<Value> = page
        .items
        .iter()
        .map(|(cursor, p)| {
            let store = profiles
                .get(&p.seller_id)
                .and_then(|profile| profile.merchant.as_ref())
                .map(|m| m.store_name.clone());
            json!({"cursor": cursor, "node": {
                "id": p.id.to_string(), "name": p.name, "category": p.category,
                "variants": variant_json(p, false), "seller": {"storeName": store},
            }})
        })
        .collect();
    Json(json!({"data": {"products": {
        "edges": edges,
        "pageInfo": {"hasNextPage": page.has_next_page, "endCursor": page.items.last().map(|(c, _)| c.clone())},
    }}}))
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // As the server serves it: handlers see the client's address.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    base
}

struct Load {
    per_s: f64,
    p50: Duration,
    p99: Duration,
}

/// `connections` clients asking as fast as they are answered for `seconds` (after a warm-up):
/// a GET of `url`, or a POST of `body` when given.
async fn load(url: String, body: Option<Value>, connections: usize, seconds: f64) -> Load {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let send = {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        move || {
            let request = match &body {
                Some(body) => http.post(&url).json(body),
                None => http.get(&url),
            };
            async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                let bytes = response.bytes().await.unwrap();
                assert!(
                    status.is_success(),
                    "{status}: {}",
                    String::from_utf8_lossy(&bytes)
                );
                bytes
            }
        }
    };
    // Warm-up, and one answer to check.
    let first = send().await;
    let answer: Value = serde_json::from_slice(&first).unwrap();
    assert!(answer["errors"].is_null(), "{answer}");
    let warm = Instant::now() + Duration::from_millis(500);
    let end = warm + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let send = send.clone();
            tokio::spawn(async move {
                let mut took = Vec::new();
                while Instant::now() < end {
                    let started = Instant::now();
                    send().await;
                    if started >= warm {
                        took.push(started.elapsed());
                    }
                }
                took
            })
        })
        .collect();
    let mut took = Vec::new();
    for t in tasks {
        took.extend(t.await.unwrap());
    }
    took.sort();
    Load {
        per_s: took.len() as f64 / seconds,
        p50: percentile(&took, 50.0),
        p99: percentile(&took, 99.0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn graphql_overhead_against_a_bare_handler() {
    let stack = Stack::new(mercado::app::config::BusKind::Inprocess).await;
    let catalog = Arc::new(FakeCatalog::default());
    let profiles = Arc::new(FakeProfiles::default());
    let mut one = None;
    for n in 0..100 {
        let seller = format!("seller-{}", n % 10);
        let mut product = sample_product(&seller, &format!("Product {n}"), "bench", 1_000 + n);
        product.created_at += chrono::Duration::milliseconds(n);
        one.get_or_insert(product.id);
        catalog.put(product);
    }
    for s in 0..10 {
        profiles.seed(Profile {
            user_id: format!("seller-{s}"),
            merchant: Some(MerchantInfo {
                store_name: format!("Store {s}"),
                description: None,
            }),
            ..Profile::default()
        });
    }
    let orders = Arc::new(FakeOrders::default());
    let ports = Ports {
        inventory: Arc::new(FakeInventory::default()),
        catalog: catalog.clone(),
        catalog_changes: catalog.clone(),
        identity: Arc::new(FakeIdentity::default()),
        throttle: Arc::new(FakeThrottle::default()),
        profiles: profiles.clone(),
        images: Arc::new(FakeImages::default()),
        orders: orders.clone(),
        order_events: orders,
        search: Arc::new(FakeSearch::default()),
    };
    let aws = mercado::adapters::aws::load().await;
    let verifier = Arc::new(
        TokenVerifier::from_config(&stack.config.auth, &aws)
            .await
            .unwrap(),
    );
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let state = AppState::over(
        ports,
        verifier,
        Arc::new(NoImages),
        Vec::new(),
        &stack.config,
        stopped,
    )
    .unwrap();
    let web_root = stack.data_dir.join("no-web-client");
    let graphql = serve(mercado::http::router(state, &web_root)).await;
    let bare = serve(
        Router::new()
            .route("/product/{id}", get(bare_product))
            .route("/products", get(bare_page))
            .with_state(Bare { catalog, profiles }),
    )
    .await;

    let (connections, seconds) = (16, if bench_quick() { 2.0 } else { 5.0 });
    let id = one.unwrap();
    let mut metrics = serde_json::Map::new();
    for (name, key, query, variables, bare_url) in [
        (
            "product(id)",
            "graphql_overhead_product_ratio",
            PRODUCT,
            json!({"id": id}),
            format!("{bare}/product/{id}"),
        ),
        (
            "products(first: 20) with seller { storeName }",
            "graphql_overhead_page_ratio",
            PAGE,
            json!({}),
            format!("{bare}/products"),
        ),
    ] {
        let through = load(
            format!("{graphql}/graphql"),
            Some(json!({"query": query, "variables": variables})),
            connections,
            seconds,
        )
        .await;
        let direct = load(bare_url, None, connections, seconds).await;
        let ratio = through.per_s / direct.per_s;
        metrics.insert(key.into(), json!(ratio));
        bench_record(
            "graphql",
            &[
                ("query", name.into()),
                (
                    "GraphQL",
                    format!(
                        "{:.0} req/s, p50 {}, p99 {}",
                        through.per_s,
                        ms(through.p50),
                        ms(through.p99)
                    ),
                ),
                (
                    "bare handler",
                    format!(
                        "{:.0} req/s, p50 {}, p99 {}",
                        direct.per_s,
                        ms(direct.p50),
                        ms(direct.p99)
                    ),
                ),
                ("ratio", format!("{ratio:.2}")),
                (
                    "load",
                    format!("{connections} keep-alive connections, {seconds} s, same process"),
                ),
            ],
            Value::Object(metrics.clone()),
        );
    }
    stack.cleanup().await;
}
