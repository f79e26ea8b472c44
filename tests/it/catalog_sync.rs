//! The read side and the sync engine against the real stack: every bus converges with
//! PostgreSQL under duplicated and reordered deliveries, poison messages end (DLQ or
//! termination) without stopping the flow, the reconciler repairs drift and rebuilds, pages are
//! full and stable under concurrent inserts, and the buyer queries filter, sort and recommend.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::{collections::HashSet, time::Duration};

use crate::common::{App, CREATE_PRODUCT, Stack, error_code, id_of};
use mercado::{app::config::BusKind, events::EventEnvelope, workers::relay};
use mercado_resolvers::{Role, inventory::validate_new_product};
use serde_json::{Value, json};

/// Reads every product from PostgreSQL and checks the read model holds exactly its document
/// (or nothing, for a deleted one). Retries for up to 15 s while deliveries settle.
async fn assert_read_model_equals_postgres(app: &App) {
    let c = &app.server.adapters;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let products = c.documents.documents_after(None, 10_000).await.unwrap();
        let mut mismatches = Vec::new();
        for (product, deleted) in &products {
            let stored = c.observed.catalog.stored(product.id).await.unwrap();
            let expected = (!deleted).then(|| product.clone());
            if stored != expected {
                mismatches.push(product.id);
            }
        }
        if mismatches.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "read model differs from PostgreSQL for {mismatches:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn all_events(stack: &Stack) -> Vec<EventEnvelope> {
    let rows: Vec<(uuid::Uuid, String, uuid::Uuid, i64, chrono::DateTime<chrono::Utc>, Value)> =
        sqlx::query_as("SELECT id, event_type, aggregate_id, version, occurred_at, payload FROM outbox ORDER BY seq")
            .fetch_all(&mut stack.pg().await)
            .await
            .unwrap();
    rows.into_iter()
        .map(
            |(id, event_type, aggregate_id, version, occurred_at, payload)| EventEnvelope {
                id,
                event_type,
                aggregate_id,
                version,
                occurred_at,
                payload,
                traceparent: None,
            },
        )
        .collect()
}

async fn bus_converges(bus: BusKind) {
    let stack = Stack::new(bus).await;
    let app = stack.start().await;
    let seller = stack.token("seller", &[Role::Seller]);
    let mut ids = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        ids.push(app.create_product(&seller, name, "sync").await);
    }
    let (_, updated) = app
        .graphql(Some(&seller), "mutation($id: ID!) { updateProduct(id: $id, expectedVersion: 1, input: {name: \"Beta 2\"}) { version } }", json!({"id": ids[1]}))
        .await;
    assert_eq!(updated["data"]["updateProduct"]["version"], 2, "{updated}");
    let (_, deleted) = app
        .graphql(
            Some(&seller),
            "mutation($id: ID!) { deleteProduct(id: $id) { version } }",
            json!({"id": ids[2]}),
        )
        .await;
    assert!(deleted["errors"].is_null(), "{deleted}");

    app.wait_for_product(&ids[1], |p| p["name"] == "Beta 2")
        .await;
    app.wait_for_product(&ids[2], Value::is_null).await;
    let (_, page) = app
        .graphql(
            None,
            "{ products(filter: {category: \"sync\"}) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        page["data"]["products"]["edges"],
        json!([{"node": {"name": "Beta 2"}}, {"node": {"name": "Alpha"}}])
    );
    assert_read_model_equals_postgres(&app).await;

    // Every event again, newest first, twice: duplicates and reordering change nothing.
    let mut events = all_events(&stack).await;
    events.reverse();
    let c = &app.server.adapters;
    for _ in 0..2 {
        assert!(c.publisher.publish(&events).await.iter().all(Result::is_ok));
    }
    // A sentinel written after the replay: once it shows, the replay has gone through.
    let (_, sentinel) = app
        .graphql(
            Some(&seller),
            CREATE_PRODUCT,
            json!({"input": {"name": "Sentinel", "category": "sync"}}),
        )
        .await;
    app.wait_for_product(&id_of(&sentinel, "createProduct"), |p| !p.is_null())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_read_model_equals_postgres(&app).await;
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn inprocess_bus_converges_under_duplicates_and_reordering() {
    bus_converges(BusKind::Inprocess).await;
}

#[tokio::test]
async fn eventbridge_bus_converges_under_duplicates_and_reordering() {
    bus_converges(BusKind::Eventbridge).await;
}

#[tokio::test]
async fn nats_bus_converges_under_duplicates_and_reordering() {
    bus_converges(BusKind::Nats).await;
}

#[tokio::test]
async fn eventbridge_poison_message_is_dead_lettered_and_the_flow_goes_on() {
    let stack = Stack::new(BusKind::Eventbridge).await;
    let config = stack.quiet();
    let app = stack.start_with(config).await;
    let c = app.server.adapters.clone();
    let sdk = mercado::adapters::aws::load().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = stack.config.aws.queue_url.clone().unwrap();
    sqs.send_message()
        .queue_url(&queue)
        .message_body("{not json")
        .send()
        .await
        .unwrap();
    let id = created_and_relayed(&stack, &app, "dlq").await;

    let consumer = c.consumer.clone().unwrap();
    let dlq = format!("{queue}-dlq");
    let mut dead = 0;
    for _ in 0..20 {
        consumer.consume_once().await.unwrap();
        dead = crate::common::queue_depth(&sqs, &dlq).await;
        if dead == 1 {
            break;
        }
    }
    assert_eq!(dead, 1, "the poison message ends in the dead-letter queue");
    app.wait_for_product(&id, |p| !p.is_null()).await;
    let report = consumer.consume_once().await.unwrap();
    assert_eq!(report.received, 0, "nothing loops");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn nats_poison_message_is_terminated_and_the_flow_goes_on() {
    let stack = Stack::new(BusKind::Nats).await;
    let config = stack.quiet();
    let app = stack.start_with(config).await;
    let c = app.server.adapters.clone();
    let client = async_nats::connect(&stack.config.nats_url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.publish(
        format!("{}.garbage", stack.config.nats_subject_prefix),
        "{not json".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let id = created_and_relayed(&stack, &app, "term").await;
    let consumer = c.consumer.clone().unwrap();
    let mut seen = 0;
    for _ in 0..5 {
        seen += consumer.consume_once().await.unwrap().received;
        if seen >= 2 {
            break;
        }
    }
    assert_eq!(seen, 2);
    app.wait_for_product(&id, |p| !p.is_null()).await;
    assert_eq!(
        consumer.consume_once().await.unwrap().received,
        0,
        "the poison is not redelivered"
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn the_reconciler_repairs_drift_and_rebuilds_an_empty_table() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let seller = stack.token("seller", &[Role::Seller]);
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(app.create_product(&seller, &format!("d{i}"), "drift").await);
    }
    app.graphql(
        Some(&seller),
        "mutation($id: ID!) { deleteProduct(id: $id) { version } }",
        json!({"id": ids[5]}),
    )
    .await;
    app.graphql(Some(&seller), "mutation($id: ID!) { updateProduct(id: $id, expectedVersion: 1, input: {name: \"d2 v2\"}) { version } }", json!({"id": ids[2]})).await;
    app.wait_for_product(&ids[2], |p| p["name"] == "d2 v2")
        .await;
    assert_read_model_equals_postgres(&app).await;

    // Corrupt: delete two items, put a stale version back, add an orphan.
    let c = app.server.adapters.clone();
    let sdk = mercado::adapters::aws::load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = c.observed.catalog.table().to_string();
    for id in &ids[0..2] {
        dynamo
            .delete_item()
            .table_name(&table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
            .send()
            .await
            .unwrap();
    }
    let stale = c
        .observed
        .catalog
        .stored(ids[3].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    dynamo
        .delete_item()
        .table_name(&table)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(ids[2].clone()),
        )
        .send()
        .await
        .unwrap();
    let mut old = c
        .documents
        .documents_after(None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|(p, _)| p.id.to_string() == ids[2])
        .unwrap()
        .0;
    old.version = 1;
    old.name = "d2".into();
    c.read_model.upsert(&old).await.unwrap();
    let mut orphan = stale.clone();
    orphan.id = uuid::Uuid::now_v7();
    c.read_model.upsert(&orphan).await.unwrap();

    let report = c.reconciler.reconcile_once().await.unwrap().unwrap();
    assert_eq!(
        (report.checked, report.repaired, report.removed),
        (6, 3, 1),
        "{report:?}"
    );
    assert_read_model_equals_postgres(&app).await;
    assert!(
        c.observed
            .catalog
            .stored(orphan.id)
            .await
            .unwrap()
            .is_none()
    );

    // From nothing: every item gone, one pass rebuilds it all.
    for item in c.read_model.scan().await.unwrap() {
        dynamo
            .delete_item()
            .table_name(&table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(item.id))
            .send()
            .await
            .unwrap();
    }
    let rebuilt = c.reconciler.reconcile_once().await.unwrap().unwrap();
    assert_eq!((rebuilt.checked, rebuilt.repaired), (6, 6));
    assert_read_model_equals_postgres(&app).await;
    let again = c.reconciler.reconcile_once().await.unwrap().unwrap();
    assert_eq!(
        (again.repaired, again.removed),
        (0, 0),
        "a clean read model needs nothing"
    );

    // Edited in place at the same version: the document of one item, an index attribute of
    // another. The check finds both and writes nothing; a pass rewrites both.
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut edited = c
        .observed
        .catalog
        .stored(ids[0].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    edited.name = "edited by hand".into();
    for (id, attribute, value) in [
        (&ids[0], "doc", serde_json::to_string(&edited).unwrap()),
        (&ids[1], "category", "elsewhere".to_string()),
    ] {
        dynamo
            .update_item()
            .table_name(&table)
            .key("id", AttributeValue::S(id.clone()))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", AttributeValue::S(value))
            .send()
            .await
            .unwrap();
    }
    let checked = c.reconciler.check_once().await.unwrap();
    let mut found: Vec<(String, &str)> = checked
        .differences
        .iter()
        .map(|d| (d.id.clone(), d.drift.as_str()))
        .collect();
    found.sort();
    let mut expected = vec![(ids[0].clone(), "differs"), (ids[1].clone(), "differs")];
    expected.sort();
    assert_eq!(found, expected, "{checked:?}");
    assert_eq!(checked.repaired, 0);
    assert_eq!(
        c.reconciler.check_once().await.unwrap(),
        checked,
        "a check writes nothing"
    );
    let fixed = c.reconciler.reconcile_once().await.unwrap().unwrap();
    assert_eq!((fixed.repaired, fixed.removed), (2, 0), "{fixed:?}");
    assert_read_model_equals_postgres(&app).await;
    assert!(
        c.reconciler
            .check_once()
            .await
            .unwrap()
            .differences
            .is_empty()
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn two_hundred_fifty_products_page_as_100_100_50_while_others_are_inserted() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let c = app.server.adapters.clone();
    let mut expected = HashSet::new();
    let mut last = String::new();
    for i in 0..250 {
        let p = validate_new_product("", &format!("bulk {i}"), Some("bulk"), None).unwrap();
        let created = c
            .ports
            .inventory
            .create_product("bulk-seller", p)
            .await
            .unwrap();
        last = created.id.to_string();
        expected.insert(last.clone());
    }
    app.wait_for_product(&last, |p| !p.is_null()).await;
    let q = "query($after: String) { products(filter: {category: \"bulk\"}, first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after = Value::Null;
    let mut inserter = None;
    loop {
        let (_, body) = app.graphql(None, q, json!({"after": after})).await;
        let conn = &body["data"]["products"];
        let edges = conn["edges"].as_array().unwrap();
        sizes.push(edges.len());
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_string()),
        );
        if inserter.is_none() {
            // Newer products keep arriving while the client pages on.
            let inventory = c.ports.inventory.clone();
            inserter = Some(tokio::spawn(async move {
                for i in 0..30 {
                    let p =
                        validate_new_product("", &format!("late {i}"), Some("bulk"), None).unwrap();
                    inventory.create_product("bulk-seller", p).await.unwrap();
                }
            }));
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    inserter.unwrap().await.unwrap();
    assert_eq!(sizes, [100, 100, 50]);
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 250, "no duplicates");
    assert_eq!(unique, expected, "no gaps");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn buyer_queries_filter_sort_list_a_sellers_own_and_recommend() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let ana = stack.token("ana", &[Role::Seller, Role::Buyer]);
    let bo = stack.token("bo", &[Role::Seller]);
    let create = |token: String,
                  name: &'static str,
                  category: &'static str,
                  price: i64,
                  status: &'static str| {
        let app = &app;
        async move {
            let (_, body) = app.graphql(Some(&token), "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
                json!({"i": {"name": name, "category": category, "status": status,
                             "variants": [{"sku": name.replace(' ', "-"), "price": {"amount": price, "currency": "EUR"}}]}})).await;
            id_of(&body, "createProduct")
        }
    };
    create(bo.clone(), "Old book", "books", 500, "ACTIVE").await;
    create(bo.clone(), "New book", "books", 2500, "ACTIVE").await;
    create(bo.clone(), "Tea", "food", 900, "ACTIVE").await;
    create(ana.clone(), "Ana book", "books", 1500, "ACTIVE").await;
    create(ana.clone(), "Ana draft", "books", 100, "DRAFT").await;
    // The draft is not in product(id); poll the seller's own listing until it shows.
    let mut own = Value::Null;
    for _ in 0..100 {
        own = app
            .graphql(
                Some(&ana),
                "{ myProducts { edges { node { name status } } } }",
                json!({}),
            )
            .await
            .1;
        if own["data"]["myProducts"]["edges"]
            .as_array()
            .is_some_and(|e| e.len() == 2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        own["data"]["myProducts"]["edges"],
        json!([{"node": {"name": "Ana draft", "status": "DRAFT"}}, {"node": {"name": "Ana book", "status": "ACTIVE"}}]),
        "{own}"
    );
    let names = |body: &Value, field: &str| -> Vec<String> {
        body["data"][field]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, cheap) = app.graphql(None, "{ products(filter: {category: \"books\", maxPrice: 1500}, sort: OLDEST) { edges { node { name } } } }", json!({})).await;
    assert_eq!(names(&cheap, "products"), ["Old book", "Ana book"]);
    let (_, bos) = app
        .graphql(
            None,
            "{ products(filter: {sellerId: \"bo\", minPrice: 600}) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&bos, "products"), ["Tea", "New book"]);
    let (_, buyer_only) = app
        .graphql(
            Some(&bo),
            "{ myProducts { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&buyer_only, "myProducts").len(), 3);
    let buyer = stack.token("carla", &[Role::Buyer]);
    let (_, denied) = app
        .graphql(
            Some(&buyer),
            "{ myProducts { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");

    // Recommendations: favourites first for a signed-in buyer, never their own products.
    app.graphql(
        Some(&ana),
        "mutation { updateMyPreferences(input: {favoriteCategories: [\"books\"]}) { id } }",
        json!({}),
    )
    .await;
    let (_, recs) = app
        .graphql(
            Some(&ana),
            "{ recommendations(first: 5) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        recs["data"]["recommendations"],
        json!([{"name": "New book"}, {"name": "Old book"}])
    );
    let (_, anyone) = app
        .graphql(None, "{ recommendations(first: 2) { name } }", json!({}))
        .await;
    assert_eq!(
        anyone["data"]["recommendations"],
        json!([{"name": "Ana book"}, {"name": "Tea"}])
    );
    app.stop().await;
    stack.cleanup().await;
}

/// A product created after the poison message (in `category`), relayed to the bus: the flow
/// must go on past the poison. Answers its id.
async fn created_and_relayed(stack: &Stack, app: &App, category: &str) -> String {
    let seller = stack.token("seller", &[Role::Seller]);
    let id = app.create_product(&seller, "After poison", category).await;
    let c = &app.server.adapters;
    relay::relay_once(c.outbox.as_ref(), c.publisher.as_ref(), 100)
        .await
        .unwrap();
    id
}
