//! The live catalog across the CQRS split: `productChanged` follows a product on another
//! instance through image, stock and deletion; reads with a write's consistency token see the
//! write; forged and malformed tokens; a thousand subscribers cost one store read per change
//! per instance.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::time::{Duration, Instant};

use crate::common::{App, Socket, Stack, error_code, percentile, ws_acked, ws_next, ws_subscribed};
use mercado::app::config::{BusKind, Module};
use mercado_resolvers::Role;
use serde_json::{Value, json};

const FOLLOW: &str = "subscription($id: ID!) { productChanged(id: $id) { version gone product { imageUrl variants { onHand held available } } } }";

/// A product with one variant of `on_hand` units: (product id, variant id, consistency token).
async fn product_with_stock(app: &App, token: &str, on_hand: i32) -> (String, String, String) {
    let (_, created) = app
        .graphql(
            Some(token),
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { id consistencyToken variants { id } } }",
            json!({"i": {"name": "Lamp", "category": "live",
                         "variants": [{"sku": format!("LAMP-{}", uuid::Uuid::new_v4().simple()), "price": {"amount": 2500, "currency": "EUR"}, "onHand": on_hand}]}}),
        )
        .await;
    let p = &created["data"]["createProduct"];
    (
        p["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_string(),
        p["variants"][0]["id"].as_str().unwrap().to_string(),
        p["consistencyToken"].as_str().unwrap().to_string(),
    )
}

async fn follow(socket: &mut Socket, sub: &str, id: &str) {
    crate::common::ws_send(
        socket,
        json!({"id": sub, "type": "subscribe", "payload": {"query": FOLLOW, "variables": {"id": id}}}),
    )
    .await;
}

/// The next `productChanged` step on `socket` (or the `complete`).
async fn next_step(socket: &mut Socket) -> Value {
    let msg = ws_next(socket).await;
    match msg["type"].as_str() {
        Some("next") => msg["payload"]["data"]["productChanged"].clone(),
        Some("complete") => json!("complete"),
        _ => panic!("unexpected message {msg}"),
    }
}

/// Steps until one satisfies `done`; returns every step seen.
async fn steps_until(socket: &mut Socket, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let step = next_step(socket).await;
        let stop = done(&step);
        seen.push(step);
        if stop {
            return seen;
        }
    }
}

async fn follows_a_product_on_another_instance(bus: BusKind) {
    let stack = Stack::new(bus).await;
    // A runs everything but the saga: the test takes the order's steps itself, so the hold
    // stands until its followers have seen it (a hold and a sale relayed together reach
    // them as the sale alone, the newest document).
    let a = stack
        .start_with(mercado::app::config::ServeConfig {
            modules: vec![Module::Api, Module::Relay, Module::Consumer],
            ..stack.config.clone()
        })
        .await;
    let quiet = stack.quiet();
    let b = stack.start_with(quiet).await;
    let seller = stack.token("seller", &[Role::Seller]);
    let (id, variant, _) = product_with_stock(&a, &seller, 5).await;

    // Anyone may follow an active product, on an instance that did not write it.
    let mut socket = ws_acked(&b.base, None).await;
    follow(&mut socket, "p", &id).await;
    let first = next_step(&mut socket).await;
    assert_eq!(first["product"]["variants"][0]["available"], 5, "{first}");
    let mut versions = vec![first["version"].as_i64().unwrap()];

    // The image lands (S3 notification → image consumer on A → projector).
    a.upload_image(&seller, &id, b"\x89PNG\r\n\x1a\n").await;
    let steps = steps_until(&mut socket, |s| s["product"]["imageUrl"].is_string()).await;
    versions.extend(steps.iter().map(|s| s["version"].as_i64().unwrap()));

    // An order holds 2 units (available drops), then confirms (on hand drops, nothing held).
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = a
        .place_order(&buyer, &variant, 2, "tok_approve", "live")
        .await;
    let order: uuid::Uuid = placed["data"]["placeOrder"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"))
        .parse()
        .unwrap();
    let stock = |s: &Value| {
        let v = &s["product"]["variants"][0];
        (
            v["onHand"].as_i64(),
            v["held"].as_i64(),
            v["available"].as_i64(),
        )
    };
    let saga = a.server.adapters.saga.clone();
    assert!(saga.advance(order).await.unwrap().is_some(), "the hold");
    let mut steps = steps_until(&mut socket, |s| stock(s) == (Some(5), Some(2), Some(3))).await;
    while saga.advance(order).await.unwrap().is_some() {}
    steps.extend(steps_until(&mut socket, |s| stock(s) == (Some(3), Some(0), Some(3))).await);
    versions.extend(steps.iter().map(|s| s["version"].as_i64().unwrap()));

    // Deleted: the stream says why, then completes.
    let (_, deleted) = a
        .graphql(
            Some(&seller),
            "mutation($id: ID!) { deleteProduct(id: $id) { version } }",
            json!({"id": id}),
        )
        .await;
    let gone = steps_until(&mut socket, |s| s["gone"].is_string()).await;
    let last = gone.last().unwrap();
    assert_eq!(last["gone"], "DELETED", "{last}");
    assert_eq!(last["product"], Value::Null);
    assert_eq!(last["version"], deleted["data"]["deleteProduct"]["version"]);
    assert_eq!(next_step(&mut socket).await, json!("complete"));
    versions.extend(gone.iter().map(|s| s["version"].as_i64().unwrap()));
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "versions only grow: {versions:?}"
    );
    a.stop().await;
    b.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn product_changed_follows_a_product_written_elsewhere_inprocess() {
    follows_a_product_on_another_instance(BusKind::Inprocess).await;
}

#[tokio::test]
async fn product_changed_follows_a_product_written_elsewhere_eventbridge() {
    follows_a_product_on_another_instance(BusKind::Eventbridge).await;
}

#[tokio::test]
async fn a_seller_follows_their_draft_and_others_cannot() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let seller = stack.token("seller", &[Role::Seller]);
    let (id, _, token) = product_with_stock(&app, &seller, 1).await;
    let (_, unpublished) = app
        .graphql(
            Some(&seller),
            "mutation($id: ID!) { unpublishProduct(id: $id) { consistencyToken } }",
            json!({"id": id}),
        )
        .await;
    let token2 = unpublished["data"]["unpublishProduct"]["consistencyToken"]
        .as_str()
        .unwrap();
    // Wait for the draft to reach the catalog before following it.
    let (_, mine) = app
        .graphql(
            Some(&seller),
            "query($c: [String!]) { myProducts(first: 5, consistency: $c) { edges { node { status } } } }",
            json!({"c": [token, token2]}),
        )
        .await;
    assert_eq!(
        mine["data"]["myProducts"]["edges"][0]["node"]["status"], "DRAFT",
        "{mine}"
    );
    let mut own = ws_acked(&app.base, Some(&seller)).await;
    follow(&mut own, "1", &id).await;
    assert!(next_step(&mut own).await["product"].is_object());
    let mut other = ws_acked(&app.base, None).await;
    follow(&mut other, "1", &id).await;
    let refused = ws_next(&mut other).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    app.stop().await;
    stack.cleanup().await;
}

/// On EventBridge a write reaches the catalog hundreds of milliseconds later: a read with the
/// write's token sees it every time; a read without one often does not.
#[tokio::test]
async fn reads_with_the_write_token_see_the_write_on_eventbridge() {
    let stack = Stack::new(BusKind::Eventbridge).await;
    // The longest wait allowed: the local AWS server is shared with every test running beside
    // this one, and its EventBridge is slow under load.
    let mut config = stack.config.clone();
    config.read_wait_ms = 10_000;
    let app = stack.start_with(config).await;
    let seller = stack.token("seller", &[Role::Seller]);
    const TRIES: usize = 100;
    let mut stale_without = 0;
    for round in 0..TRIES / 10 {
        let tries = (0..10).map(|_| async {
            let (id, _, token) = product_with_stock(&app, &seller, 1).await;
            let read =
                "query($id: ID!, $c: [String!]) { product(id: $id, consistency: $c) { version } }";
            let (_, plain) = app.graphql(None, read, json!({"id": id})).await;
            let (_, waited) = app
                .graphql(None, read, json!({"id": id, "c": [token]}))
                .await;
            (plain["data"]["product"]["version"] != 1, waited)
        });
        for (stale, waited) in futures::future::join_all(tries).await {
            stale_without += usize::from(stale);
            assert_eq!(
                waited["data"]["product"]["version"], 1,
                "round {round}: {waited}"
            );
            assert!(waited.get("errors").is_none(), "{waited}");
        }
    }
    println!("reads without a token right after the write: {stale_without} of {TRIES} stale");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_token_never_reached_answers_stale_read_and_a_malformed_one_is_bad_input() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let mut config = stack.config.clone();
    config.read_wait_ms = 300;
    let app = stack.start_with(config).await;
    let seller = stack.token("seller", &[Role::Seller]);
    let (id, _, token) = product_with_stock(&app, &seller, 1).await;
    // A forged token: this product at version 99, which will never exist.
    let mut forged = mercado_resolvers::catalog::live::decode_token(&token).unwrap();
    forged[0].version = 99;
    let forged = mercado_resolvers::catalog::live::encode_token(&forged);
    let read = "query($id: ID!, $c: [String!]) { product(id: $id, consistency: $c) { version } }";
    let (status, body) = app
        .graphql(None, read, json!({"id": id, "c": [token, forged]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["product"]["version"], 1,
        "the data is kept: {body}"
    );
    assert_eq!(error_code(&body), "STALE_READ", "{body}");
    let missing = &body["errors"][0]["extensions"]["missing"][0];
    assert_eq!(
        (missing["id"].as_str(), missing["version"].as_i64()),
        (Some(id.as_str()), Some(99))
    );
    assert_eq!(missing["held"], 1);
    for bad in ["nope", "ct1.AAAA", ""] {
        let (_, body) = app.graphql(None, read, json!({"id": id, "c": [bad]})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{bad:?}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "consistency.0");
    }
    app.stop().await;
    stack.cleanup().await;
}

/// 1,000 subscribers on one product, half on each of two instances, all receive one change;
/// each instance reads the store once for it (and once for all its subscribers' start).
#[tokio::test]
async fn a_thousand_subscribers_on_two_instances_cost_one_read_per_instance() {
    const SUBSCRIBERS: usize = 1_000;
    const PER_SOCKET: usize = 20;
    let stack = Stack::new(BusKind::Inprocess).await;
    let a = stack.start().await;
    let quiet = stack.quiet();
    let b = stack.start_with(quiet).await;
    let seller = stack.token("seller", &[Role::Seller]);
    let (id, _, token) = product_with_stock(&a, &seller, 1).await;
    let (_, ready) = a
        .graphql(
            None,
            "query($id: ID!, $c: [String!]) { product(id: $id, consistency: $c) { version } }",
            json!({"id": id, "c": [token]}),
        )
        .await;
    assert_eq!(ready["data"]["product"]["version"], 1);

    let reads = |a: &App, b: &App| {
        (
            a.server.adapters.observed.catalog.entry_calls(),
            b.server.adapters.observed.catalog.entry_calls(),
        )
    };
    let before_subscribing = reads(&a, &b);
    let mut sockets = Vec::new();
    for s in 0..SUBSCRIBERS / PER_SOCKET {
        let app = if s % 2 == 0 { &a } else { &b };
        let mut socket = ws_acked(&app.base, None).await;
        for n in 0..PER_SOCKET {
            follow(&mut socket, &n.to_string(), &id).await;
        }
        for _ in 0..PER_SOCKET {
            assert_eq!(next_step(&mut socket).await["version"], 1);
        }
        sockets.push(socket);
    }
    let reads_before = reads(&a, &b);
    assert_eq!(
        (
            reads_before.0 - before_subscribing.0,
            reads_before.1 - before_subscribing.1
        ),
        (1, 1),
        "{SUBSCRIBERS} subscribers start from one store read per instance"
    );
    let started = Instant::now();
    let (_, changed) = a
        .graphql(
            Some(&seller),
            "mutation($id: ID!) { updateProduct(id: $id, expectedVersion: 1, input: {name: \"Lamp II\"}) { version } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(changed["data"]["updateProduct"]["version"], 2, "{changed}");
    let receivers = sockets.into_iter().map(|mut socket| async move {
        let mut latencies = Vec::new();
        for _ in 0..PER_SOCKET {
            let step = next_step(&mut socket).await;
            assert_eq!(step["version"], 2, "{step}");
            latencies.push(started.elapsed());
        }
        latencies
    });
    let mut latencies: Vec<Duration> = futures::future::join_all(receivers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(latencies.len(), SUBSCRIBERS);
    let after = reads(&a, &b);
    let reads = (after.0 - reads_before.0, after.1 - reads_before.1);
    assert_eq!(reads, (1, 1), "one store read per instance for the change");
    latencies.sort();
    println!(
        "{SUBSCRIBERS} subscribers on 2 instances: from sending the update to delivery: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; store reads for the change: {reads:?}",
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
    a.stop().await;
    b.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn product_changed_refuses_a_bad_id() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let mut socket = ws_subscribed(
        &app.base,
        None,
        "subscription { productChanged(id: \"nope\") { version } }",
    )
    .await;
    let refused = ws_next(&mut socket).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["field"], "id",
        "{refused}"
    );
    app.stop().await;
    stack.cleanup().await;
}
