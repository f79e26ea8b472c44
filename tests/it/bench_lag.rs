//! Benchmark (ignored by default; `scripts/bench` runs it in release): commit-to-visible lag,
//! from `createProduct`'s answer (the transaction has committed) to the product's first
//! appearance in `product(id)`, for each bus, and the local AWS server's own `PutEvents` floor.
//!
//!     scripts/test --test it bench_lag -- --ignored --nocapture
//!
//! Sequential writes, one poller polling every 2 ms; results go in docs/benchmarks.md. The
//! projector also logs each event's commit-to-projection lag (`lag_ms`, debug level).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark here

use std::time::{Duration, Instant};

use crate::common::{CREATE_PRODUCT, Stack, bench_record, bench_size, id_of, ms, percentile};
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::json;

async fn measure(bus: BusKind) -> Vec<Duration> {
    // Events per bus (the catalog issue asks for at least 500).
    let products = bench_size(500, 100);
    let stack = Stack::new(bus).await;
    let app = stack.start().await;
    let seller = stack.token("bench", &[Role::Seller]);
    let mut lags = Vec::with_capacity(products);
    for i in 0..products {
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

/// One `PutEvents` of one entry, straight from the SDK: what the local AWS server itself takes.
async fn put_events_floor() -> Vec<Duration> {
    let aws = mercado::adapters::aws::load().await;
    let client = aws_sdk_eventbridge::Client::new(&aws);
    let mut took = Vec::new();
    for n in 0..bench_size(100, 30) {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("mercado.bench")
            .detail_type("Floor")
            .detail(format!("{{\"n\": {n}}}"))
            .build();
        let started = Instant::now();
        client.put_events().entries(entry).send().await.unwrap();
        took.push(started.elapsed());
    }
    took.sort();
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn commit_to_visible_lag() {
    for (bus, name) in [
        (BusKind::Inprocess, "inprocess"),
        (BusKind::Nats, "nats"),
        (BusKind::Eventbridge, "eventbridge"),
    ] {
        let mut lags = measure(bus).await;
        lags.sort();
        let p99 = percentile(&lags, 99.0);
        let mut metrics = serde_json::Map::new();
        metrics.insert(format!("lag_p99_{name}_ms"), json!(p99.as_secs_f64() * 1e3));
        let mut row = vec![
            ("bus", name.to_string()),
            ("n", lags.len().to_string()),
            ("p50", ms(percentile(&lags, 50.0))),
            ("p99", ms(p99)),
            ("max", ms(*lags.last().unwrap())),
            ("local floor", "—".to_string()),
        ];
        if bus == BusKind::Eventbridge {
            let floor = put_events_floor().await;
            row[5].1 = format!(
                "one PutEvents to the local server: p50 {}, p99 {}",
                ms(percentile(&floor, 50.0)),
                ms(percentile(&floor, 99.0))
            );
            metrics.insert(
                "putevents_p50_ms".into(),
                json!(percentile(&floor, 50.0).as_secs_f64() * 1e3),
            );
        }
        bench_record("lag", &row, serde_json::Value::Object(metrics));
    }
}
