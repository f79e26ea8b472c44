//! `MERCADO_MODULES`: one deployment split over processes as production runs it, two API
//! processes and one worker process (relay, consumers, saga, reconciler) on the EventBridge
//! bus. A write through one API is read through the other; a subscription on one API follows
//! a saga the worker runs; the worker answers health only.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use mercado::app::config::{BusKind, Module, ServeConfig};
use mercado_resolvers::Role;
use serde_json::{Value, json};

use crate::common::{ServerProcess, Stack, id_of, shipping_address, ws_next, ws_subscribed};

fn only(stack: &Stack, modules: &[Module]) -> ServeConfig {
    ServeConfig {
        modules: modules.to_vec(),
        ..stack.config.clone()
    }
}

#[tokio::test]
async fn two_api_processes_and_one_worker_process_act_as_one_server() {
    let stack = Stack::new(BusKind::Eventbridge).await;
    let api = only(&stack, &[Module::Api]);
    let (a, b) = (
        ServerProcess::start(&stack, &api, &[]).await,
        ServerProcess::start(&stack, &api, &[]).await,
    );
    let worker = ServerProcess::start(
        &stack,
        &only(
            &stack,
            &[
                Module::Relay,
                Module::Consumer,
                Module::Saga,
                Module::Reconciler,
            ],
        ),
        &[],
    )
    .await;

    // The worker serves health, not the API.
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{}/readyz", worker.base))
        .send()
        .await
        .unwrap();
    let status = ready.status();
    assert_eq!(status, 200, "{}", ready.text().await.unwrap());
    let api_there = http
        .post(format!("{}/graphql", worker.base))
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api_there.status(), 404);

    // Written through A, projected by the worker, read through B.
    let seller = stack.token("seller", &[Role::Seller]);
    let created = a
        .graphql(
            Some(&seller),
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { id consistencyToken variants { id } } }",
            json!({"i": {"name": "Split lamp", "category": "lighting",
                   "variants": [{"sku": "SPLIT", "price": {"amount": 1500, "currency": "EUR"}, "onHand": 3}]}}),
        )
        .await;
    let product = id_of(&created, "createProduct");
    let token = created["data"]["createProduct"]["consistencyToken"].clone();
    let variant = created["data"]["createProduct"]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = b
        .graphql(
            None,
            "query($id: ID!, $c: [String!]) { product(id: $id, consistency: $c) { name } }",
            json!({"id": product, "c": [token]}),
        )
        .await;
    assert_eq!(read["data"]["product"]["name"], "Split lamp", "{read}");

    // Placed through A, followed on B, run by the worker.
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = a
        .graphql(
            Some(&buyer),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
            json!({"i": {"items": [{"variantId": variant, "quantity": 1}], "paymentToken": "tok_approve",
                   "idempotencyKey": "split", "shippingAddress": shipping_address()}}),
        )
        .await;
    let order = id_of(&placed, "placeOrder");
    let mut socket = ws_subscribed(
        &b.base,
        Some(&buyer),
        &format!("subscription {{ orderStatus(orderId: \"{order}\") {{ status }} }}"),
    )
    .await;
    let mut seen: Vec<Value> = Vec::new();
    while seen.last() != Some(&json!("CONFIRMED")) {
        let msg = ws_next(&mut socket).await;
        seen.push(msg["payload"]["data"]["orderStatus"]["status"].clone());
    }
    assert!(seen.len() <= 4, "each status once: {seen:?}");
    drop((a, b, worker));
    stack.cleanup().await;
}
