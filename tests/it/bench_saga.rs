//! Benchmarks (ignored by default): purchase throughput and subscription delivery latency.
//!
//!     scripts/test --test it bench_saga -- --ignored --nocapture
//!
//! Results go in docs/benchmarks.md.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark here

use std::time::{Duration, Instant};

use crate::common::{App, Stack, id_of, percentile};
use futures::{SinkExt, StreamExt};
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const ORDERS: usize = 300;
const LATENCY_ORDERS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn confirmed_orders_per_second() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = std::sync::Arc::new(stack.start().await);
    let variant = bench_variant(&stack, &app).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..ORDERS {
        let app = app.clone();
        let variant = variant.clone();
        let token = stack.token(&format!("buyer-{i}"), &[Role::Buyer]);
        tasks.push(tokio::spawn(async move {
            app.place_order(&token, &variant, 1, "tok_approve", "bench")
                .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while stack
        .count("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
        .await
        < ORDERS as i64
    {
        assert!(started.elapsed() < Duration::from_secs(300));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "bench saga confirmed={ORDERS} seconds={secs:.2} orders_per_second={:.1}",
        ORDERS as f64 / secs
    );
    std::sync::Arc::try_unwrap(app).ok().unwrap().stop().await;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn subscription_delivery_latency() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let quiet = stack.quiet();
    let a = stack.start_with(quiet.clone()).await;
    let b = stack.start_with(quiet).await;
    let variant = bench_variant(&stack, &a).await;
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let saga = a.server.adapters.saga.clone();
    let mut samples = Vec::new();
    for n in 0..LATENCY_ORDERS {
        let placed = a
            .place_order(&buyer, &variant, 1, "tok_approve", &format!("lat-{n}"))
            .await;
        let id = id_of(&placed, "placeOrder");
        let mut socket = crate::common::ws_init(&b.base, &buyer).await;
        socket.next().await.unwrap().unwrap();
        socket.send(Message::text(json!({"id": "1", "type": "subscribe", "payload": {"query": format!("subscription {{ orderStatus(orderId: \"{id}\") {{ status at }} }}")}}).to_string())).await.unwrap();
        socket.next().await.unwrap().unwrap(); // the current state
        let uuid: uuid::Uuid = id.parse().unwrap();
        for _ in 0..3 {
            saga.advance(uuid).await.unwrap();
            let frame = socket.next().await.unwrap().unwrap();
            let received = chrono::Utc::now();
            let msg: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
            let at = chrono::DateTime::parse_from_rfc3339(
                msg["payload"]["data"]["orderStatus"]["at"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            samples.push(
                (received - at.with_timezone(&chrono::Utc))
                    .num_microseconds()
                    .unwrap() as f64
                    / 1000.0,
            );
        }
    }
    samples.sort_by(|x, y| x.partial_cmp(y).unwrap());
    println!(
        "bench subscription n={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        samples.len(),
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        samples.last().unwrap()
    );
    a.stop().await;
    b.stop().await;
    stack.cleanup().await;
}

/// A variant with stock for every order a benchmark places (10 000 units at 1.00 EUR).
async fn bench_variant(stack: &Stack, app: &App) -> String {
    app.stocked_variant(
        &stack.token("seller", &[Role::Seller]),
        "BENCH",
        100,
        10_000,
    )
    .await
}
