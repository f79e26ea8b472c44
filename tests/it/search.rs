//! Search over the running stack: a product written through GraphQL is found once its event
//! has travelled the bus (in-process, NATS, and EventBridge with each instance's own queue),
//! leaves the results when unpublished or deleted, and an index rebuilt from PostgreSQL
//! finds the same; an instance that keeps no index says so.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::time::Duration;

use crate::common::{App, Stack, error_code, id_of};
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::{Value, json};

const SEARCH: &str = "query($q: String!) { search(query: $q) { total edges { node { id name version } } facets { categories { value count } } } }";

/// Searches until `ready` holds (10 s at most); answers the last result.
async fn search_until(app: &App, text: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = app.graphql(None, SEARCH, json!({"q": text})).await;
        let found = &body["data"]["search"];
        if ready(found) {
            return found.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "search for {text:?} never became ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn follows_writes(bus: BusKind) {
    let stack = Stack::new(bus).await;
    let app = stack.start().await;
    let seller = stack.token("seller", &[Role::Seller]);
    let id = app
        .create_product(&seller, "Turquoise lantern", "lighting")
        .await;
    // One typo in a long word still finds it.
    let found = search_until(&app, "turqoise", |s| s["total"] == 1).await;
    assert_eq!(found["edges"][0]["node"]["id"], id.as_str());
    assert_eq!(
        found["facets"]["categories"],
        json!([{"value": "lighting", "count": 1}])
    );

    let (_, renamed) = app
        .graphql(
            Some(&seller),
            "mutation($id: ID!) { updateProduct(id: $id, expectedVersion: 1, input: {name: \"Brass lantern\"}) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(id_of(&renamed, "updateProduct"), id);
    search_until(&app, "turquoise", |s| s["total"] == 0).await;
    search_until(&app, "brass", |s| s["total"] == 1).await;

    let (_, deleted) = app
        .graphql(
            Some(&seller),
            "mutation($id: ID!) { deleteProduct(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(id_of(&deleted, "deleteProduct"), id);
    search_until(&app, "brass", |s| s["total"] == 0).await;
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn search_follows_writes_on_the_in_process_bus() {
    follows_writes(BusKind::Inprocess).await;
}

#[tokio::test]
async fn search_follows_writes_on_nats() {
    follows_writes(BusKind::Nats).await;
}

#[tokio::test]
async fn search_follows_writes_on_eventbridge_through_its_own_queue() {
    follows_writes(BusKind::Eventbridge).await;
}

#[tokio::test]
async fn a_new_index_catches_up_from_postgresql_and_a_quiet_instance_says_it_has_none() {
    let stack = Stack::new(BusKind::Inprocess).await;
    // Written while no instance keeps an index.
    let quiet = stack.start_with(stack.quiet()).await;
    let seller = stack.token("seller", &[Role::Seller]);
    quiet
        .create_product(&seller, "Copper kettle", "kitchen")
        .await;
    let (_, refused) = quiet.graphql(None, SEARCH, json!({"q": "kettle"})).await;
    assert_eq!(error_code(&refused), "UNAVAILABLE", "{refused}");

    // A new instance builds its index from PostgreSQL at start.
    let serving = stack.start().await;
    search_until(&serving, "kettle", |s| s["total"] == 1).await;
    quiet.stop().await;
    serving.stop().await;
    stack.cleanup().await;
}
