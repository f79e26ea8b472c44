//! Benchmark (ignored by default): commit-to-visible lag, from `createProduct`'s answer (the
//! transaction has committed) to the product's first appearance in `product(id)`, for each bus.
//!
//!     scripts/test --test it bench_lag -- --ignored --nocapture
//!
//! Sequential writes, one poller polling every 2 ms; results go in docs/benchmarks.md. The
//! projector also logs each event's commit-to-projection lag (`lag_ms`, debug level).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark here

use std::time::{Duration, Instant};

use crate::common::{CREATE_PRODUCT, Stack, id_of, percentile};
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::json;

/// Events per bus (the catalog issue asks for at least 500).
const PRODUCTS: usize = 500;

async fn measure(bus: BusKind) -> Vec<Duration> {
    let stack = Stack::new(bus).await;
    let app = stack.start().await;
    let seller = stack.token("bench", &[Role::Seller]);
    let mut lags = Vec::with_capacity(PRODUCTS);
    for i in 0..PRODUCTS {
        let (_, created) = app
            .graphql(
                Some(&seller),
                CREATE_PRODUCT,
                json!({"input": {"name": format!("lag {i}"), "category": "bench"}}),
            )
            .await;
        let committed = Instant::now();
        let id = id_of(&created, "createProduct");
        loop {
            let (_, body) = app
                .graphql(
                    None,
                    "query($id: ID!) { product(id: $id) { id } }",
                    json!({"id": id}),
                )
                .await;
            if !body["data"]["product"].is_null() {
                break;
            }
            assert!(
                committed.elapsed() < Duration::from_secs(30),
                "product {id} never appeared"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lags.push(committed.elapsed());
    }
    app.stop().await;
    stack.cleanup().await;
    lags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn commit_to_visible_lag() {
    for bus in [BusKind::Inprocess, BusKind::Eventbridge, BusKind::Nats] {
        let mut lags = measure(bus).await;
        lags.sort();
        println!(
            "bench commit_to_visible bus={bus:?} n={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
            lags.len(),
            percentile(&lags, 50.0).as_secs_f64() * 1e3,
            percentile(&lags, 99.0).as_secs_f64() * 1e3,
            lags.last().unwrap().as_secs_f64() * 1e3,
        );
    }
}
