//! Benchmarks (ignored by default; `scripts/bench` runs them in release): the purchase saga
//! under contention (a race for one variant, orders spread over many) and `orderStatus`
//! fan-out to 1,000 graphql-ws subscribers on two API processes, with their memory.
//!
//!     scripts/bench            # every benchmark, tables in docs/benchmarks.md
//!     scripts/test --test it bench_saga -- --ignored --nocapture --test-threads 1

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark here

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crate::common::{
    App, ServerProcess, Stack, bench_record, bench_size, id_of, ms, percentile, rss_mb,
};
use futures::{SinkExt, StreamExt};
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const TERMINAL: &str = "SELECT count(*) FROM orders
     WHERE status IN ('CONFIRMED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED', 'EXPIRED')";

/// Places one order (quantity 1) per entry of `variants` at once, each from its own buyer
/// (keys `prefix-n`), and waits until `settled` orders of the stack are terminal; the times
/// from the first call until every order was placed, and until they settled.
async fn race(
    stack: &Stack,
    app: &Arc<App>,
    prefix: &str,
    variants: Vec<String>,
    settled: i64,
) -> (Duration, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = variants
        .into_iter()
        .enumerate()
        .map(|(i, variant)| {
            let app = app.clone();
            let token = stack.token(&format!("{prefix}-{i}"), &[Role::Buyer]);
            tokio::spawn(async move {
                let placed = app
                    .place_order(&token, &variant, 1, "tok_approve", "bench")
                    .await;
                assert!(placed["errors"].is_null(), "{placed}");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let placed = started.elapsed();
    while stack.count(TERMINAL).await < settled {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "orders never settled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (placed, started.elapsed())
}

/// Statements the server ran per order, and where PostgreSQL spent its time (from
/// `pg_stat_database` of the stack's database, before and after).
async fn db_counters(stack: &Stack) -> (i64, i64) {
    let mut pg = stack.pg().await;
    sqlx::query_as(
        "SELECT (xact_commit + xact_rollback)::bigint, (tup_inserted + tup_updated)::bigint
         FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut pg)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn saga_race_for_one_variant_and_orders_spread_over_many() {
    let stack = Stack::new(BusKind::Inprocess).await;
    // The server's own pool size (the tests' stack uses fewer connections).
    let mut config = stack.config.clone();
    config.database.db_max_connections = 16;
    let app = Arc::new(stack.start_with(config).await);
    let seller = stack.token("seller", &[Role::Seller]);

    // The race: many buyers, one variant, 100 units.
    let orders = bench_size(1_000, 300);
    let hot = app.stocked_variant(&seller, "HOT", 100, 100).await;
    let before = db_counters(&stack).await;
    let (placed, settled) = race(
        &stack,
        &app,
        "buyer",
        vec![hot.clone(); orders],
        orders as i64,
    )
    .await;
    let after = db_counters(&stack).await;
    let confirmed = stack
        .count("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
        .await;
    let sold = stack
        .count(
            "SELECT coalesce(sum(l.quantity), 0)::bigint FROM order_lines l
             JOIN orders o ON o.id = l.order_id WHERE o.status = 'CONFIRMED'",
        )
        .await;
    let left = stack
        .count("SELECT (on_hand * 1000 + held)::bigint FROM variants WHERE sku = 'HOT'")
        .await;
    let oversold = (sold - 100).max(0) + i64::from(left < 0);
    assert_eq!(left, 0, "on hand 0 and nothing held once settled");
    bench_record(
        "saga",
        &[
            (
                "run",
                format!("race: {orders} orders (quantity 1) for one variant with 100 units"),
            ),
            ("all placed", ms(placed)),
            ("settled", ms(settled)),
            (
                "throughput",
                format!("{:.0} orders/s", orders as f64 / settled.as_secs_f64()),
            ),
            (
                "outcome",
                format!(
                    "{confirmed} CONFIRMED, {} REJECTED, {oversold} oversold; on hand 0, held 0",
                    orders as i64 - confirmed
                ),
            ),
            (
                "database",
                format!(
                    "{:.1} transactions and {:.1} rows written per order",
                    (after.0 - before.0) as f64 / orders as f64,
                    (after.1 - before.1) as f64 / orders as f64
                ),
            ),
        ],
        json!({
            "race_settle_ms": settled.as_secs_f64() * 1e3,
            "race_confirmed": confirmed,
            "race_oversold": oversold,
        }),
    );

    // Spread: every order confirms, over many variants.
    let (orders, variants) = (bench_size(2_000, 600), bench_size(200, 60));
    let mut skus = Vec::with_capacity(variants);
    for v in 0..variants {
        skus.push(
            app.stocked_variant(&seller, &format!("SPREAD-{v}"), 100, 1_000)
                .await,
        );
    }
    let spread: Vec<String> = (0..orders).map(|i| skus[i % variants].clone()).collect();
    let terminal_before = stack.count(TERMINAL).await;
    let before = db_counters(&stack).await;
    let (placed, settled) = race(
        &stack,
        &app,
        "spread",
        spread,
        terminal_before + orders as i64,
    )
    .await;
    let after = db_counters(&stack).await;
    let confirmed = stack
        .count("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
        .await
        - 100;
    assert_eq!(confirmed, orders as i64, "every spread order confirms");
    let per_s = orders as f64 / settled.as_secs_f64();
    bench_record(
        "saga",
        &[
            (
                "run",
                format!("spread: {orders} orders over {variants} variants"),
            ),
            ("all placed", ms(placed)),
            ("settled", ms(settled)),
            ("throughput", format!("{per_s:.0} orders/s")),
            ("outcome", format!("{confirmed} CONFIRMED")),
            (
                "database",
                format!(
                    "{:.1} transactions and {:.1} rows written per order",
                    (after.0 - before.0) as f64 / orders as f64,
                    (after.1 - before.1) as f64 / orders as f64
                ),
            ),
        ],
        json!({ "spread_orders_per_s": per_s }),
    );
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    stack.cleanup().await;
}

/// One graphql-ws socket subscribed to `orderStatus` of `order`; the current state is read.
async fn watch(base: &str, token: &str, order: &str) -> crate::common::Socket {
    let mut socket = crate::common::ws_init(base, token).await;
    socket.next().await.unwrap().unwrap(); // connection_ack
    let query = format!("subscription {{ orderStatus(orderId: \"{order}\") {{ status at }} }}");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query}}).to_string(),
        ))
        .await
        .unwrap();
    socket.next().await.unwrap().unwrap(); // the current state
    socket
}

/// 1,000 subscribers on two API processes (half watch one order, half their own), a third
/// process runs the saga: delivery latency from each transition's commit, and the API
/// processes' memory idle and with every subscription open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn order_status_fan_out_to_a_thousand_subscribers() {
    let subscribers = bench_size(1_000, 200);
    let stack = Stack::new(BusKind::Inprocess).await;
    let api_a = ServerProcess::start(&stack, &stack.quiet(), &[]).await;
    let api_b = ServerProcess::start(&stack, &stack.quiet(), &[]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mb(api_a.pid()) + rss_mb(api_b.pid());

    let seller = stack.token("seller", &[Role::Seller]);
    let created = api_a
        .graphql(
            Some(&seller),
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { variants { id } } }",
            json!({"i": {"name": "FAN", "category": "bench", "variants": [{"sku": "FAN", "price": {"amount": 100, "currency": "EUR"}, "onHand": 100000}]}}),
        )
        .await;
    let variant = created["data"]["createProduct"]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Orders stay PENDING until the worker process starts.
    let place = |token: String, key: String| {
        let (base, variant) = (api_a.base.clone(), variant.clone());
        async move {
            let body = reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .bearer_auth(&token)
                .json(&json!({"query": "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
                    "variables": {"i": {"items": [{"variantId": variant, "quantity": 1}], "paymentToken": "tok_approve", "idempotencyKey": key, "shippingAddress": crate::common::shipping_address()}}}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap();
            id_of(&body, "placeOrder")
        }
    };
    let shared_buyer = stack.token("shared", &[Role::Buyer]);
    let shared = place(shared_buyer.clone(), "shared".into()).await;
    let mut sockets = Vec::with_capacity(subscribers);
    for n in 0..subscribers {
        let base = if n % 2 == 0 { &api_a.base } else { &api_b.base };
        let socket = if n < subscribers / 2 {
            watch(base, &shared_buyer, &shared).await
        } else {
            let buyer = stack.token(&format!("own-{n}"), &[Role::Buyer]);
            let order = place(buyer.clone(), format!("own-{n}")).await;
            watch(base, &buyer, &order).await
        };
        sockets.push(socket);
    }
    let loaded = rss_mb(api_a.pid()) + rss_mb(api_b.pid());

    // Every socket reads its three transitions (STOCK_HELD, PAID, CONFIRMED) as they come.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut lags = Vec::with_capacity(3);
                while lags.len() < 3 {
                    let frame = socket.next().await.unwrap().unwrap();
                    let received = chrono::Utc::now();
                    let Ok(text) = frame.to_text() else { continue };
                    let msg: Value = serde_json::from_str(text).unwrap();
                    let Some(at) = msg["payload"]["data"]["orderStatus"]["at"].as_str() else {
                        continue;
                    };
                    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
                    lags.push(
                        (received - at.with_timezone(&chrono::Utc))
                            .to_std()
                            .unwrap_or_default(),
                    );
                }
                lags
            })
        })
        .collect();
    let worker = ServerProcess::start(&stack, &stack.config, &[]).await;
    let mut lags = Vec::new();
    for reader in readers {
        lags.extend(
            tokio::time::timeout(Duration::from_secs(120), reader)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    lags.sort();
    let p99 = percentile(&lags, 99.0);
    bench_record(
        "fanout",
        &[
            (
                "subscribers",
                format!(
                    "{subscribers} graphql-ws sockets on 2 API processes ({} on one order, {} on their own)",
                    subscribers / 2,
                    subscribers - subscribers / 2
                ),
            ),
            ("deliveries", lags.len().to_string()),
            ("p50", ms(percentile(&lags, 50.0))),
            ("p99", ms(p99)),
            ("max", ms(*lags.last().unwrap())),
            (
                "rss",
                format!(
                    "{idle:.1} MiB idle, {loaded:.1} MiB with the {subscribers} subscriptions (both API processes together)"
                ),
            ),
        ],
        json!({
            "fanout_p99_ms": p99.as_secs_f64() * 1e3,
            "rss_mb_idle": idle,
            "rss_mb_1000_subscribers": loaded,
        }),
    );
    drop(worker);
    drop(api_a);
    drop(api_b);
    stack.cleanup().await;
}
