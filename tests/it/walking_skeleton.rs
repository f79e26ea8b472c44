//! The walking skeleton, end to end over the real HTTP/WebSocket surface: a write lands in
//! PostgreSQL with its outbox event, the relay and a bus carry it to the projector, DynamoDB
//! holds it, and a query reads it back.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use crate::common::{CREATE_PRODUCT, Stack, error_code, id_of, violation_fields};
use mercado::{
    app::config::BusKind,
    events::{EventEnvelope, PRODUCT_UPSERTED},
    workers::relay,
};
use mercado_resolvers::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn original_rest_create_reaches_the_graphql_catalog() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;

    let resp = app
        .http
        .post(format!("{}/api/inventory/create", app.base))
        .header("Content-Type", "application/json")
        .body(r#"{"name": "test", "info": {"category":"test"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["isSuccess"], true, "{body}");
    assert_eq!(body["errorCode"], Value::Null);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["data"]["name"], "test");
    assert_eq!(body["data"]["info"]["category"], "test");
    let id = body["data"]["id"].as_str().unwrap().to_string();

    app.wait_for_product(&id, |p| !p.is_null()).await;
    let (_, page) = app
        .graphql(
            None,
            r#"{ products(filter: {category: "test"}) { edges { node { id name category } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        page["data"]["products"]["edges"],
        json!([{"node": {"id": id, "name": "test", "category": "test"}}])
    );

    let list: Value = app.get("/api/inventory").await.json().await.unwrap();
    assert_eq!(list["isSuccess"], true);
    assert_eq!(list["data"][0]["id"], id.as_str());

    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn original_rest_bad_bodies_get_400_envelopes_and_write_nothing() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    for (body, field) in [
        (r#"{"info": {"category": "x"}}"#, "name"),
        (r#"{"name": "", "info": {"category": "x"}}"#, "name"),
        (r#"{"name": "ok"}"#, "category"),
        (
            r#"{"name": "ok", "info": {"category": 7}}"#,
            "info.category",
        ),
        (r#"not json"#, "body"),
    ] {
        let resp = app
            .http
            .post(format!("{}/api/inventory/create", app.base))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let envelope: Value = resp.json().await.unwrap();
        assert_eq!(envelope["isSuccess"], false);
        assert_eq!(envelope["errorCode"], "BAD_USER_INPUT");
        assert_eq!(envelope["errors"][0]["field"], field, "{envelope}");
    }
    assert_eq!(stack.count("SELECT count(*) FROM products").await, 0);
    assert_eq!(stack.count("SELECT count(*) FROM outbox").await, 0);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn create_product_is_denied_without_the_seller_role_and_writes_nothing() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let input = json!({"input": {"name": "Lamp", "category": "home"}});

    let (_, anonymous) = app.graphql(None, CREATE_PRODUCT, input.clone()).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");

    let buyer = stack.token("bob", &[Role::Buyer]);
    let (_, as_buyer) = app
        .graphql(Some(&buyer), CREATE_PRODUCT, input.clone())
        .await;
    assert_eq!(error_code(&as_buyer), "FORBIDDEN", "{as_buyer}");

    // Same claims, signed by a key the server has never seen.
    let stranger_dir = stack.data_dir.join("stranger");
    let stranger = mercado::adapters::auth::LocalIssuer::load_or_create(
        &stranger_dir,
        "mercado-local",
        "mercado",
        "roles",
    )
    .unwrap()
    .issue("mallory", &[Role::Seller], 600)
    .unwrap();
    let (status, forged) = app
        .graphql(Some(&stranger), CREATE_PRODUCT, input.clone())
        .await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&forged), "UNAUTHENTICATED", "{forged}");

    let (status, garbage) = app
        .graphql(Some("not-a-jwt"), "{ __typename }", json!({}))
        .await;
    assert_eq!(status, 401, "a bad token is never treated as anonymous");
    assert_eq!(error_code(&garbage), "UNAUTHENTICATED");

    assert_eq!(stack.count("SELECT count(*) FROM products").await, 0);
    assert_eq!(stack.count("SELECT count(*) FROM outbox").await, 0);

    // And the seller succeeds, as the token's subject, read-your-writes from PostgreSQL.
    let seller = stack.token("alice", &[Role::Seller]);
    let (_, created) = app.graphql(Some(&seller), CREATE_PRODUCT, input).await;
    let product = &created["data"]["createProduct"];
    assert_eq!(product["sellerId"], "alice", "{created}");
    assert_eq!(product["version"], 1);
    assert_eq!(product["info"], json!({"category": "home"}));
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn graphql_input_violations_name_their_fields() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let seller = stack.token("alice", &[Role::Seller]);
    let (_, body) = app
        .graphql(
            Some(&seller),
            CREATE_PRODUCT,
            json!({"input": {"name": " ", "category": "x".repeat(101)}}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.name");
    let fields = violation_fields(&body);
    assert_eq!(fields, ["input.name", "input.category"]);
    assert_eq!(stack.count("SELECT count(*) FROM products").await, 0);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn eventbridge_bus_carries_a_product_through_the_rule_and_queue() {
    let stack = Stack::new(BusKind::Eventbridge).await;
    let app = stack.start().await;
    let seller = stack.token("alice", &[Role::Seller]);
    let (_, created) = app
        .graphql(
            Some(&seller),
            CREATE_PRODUCT,
            json!({"input": {"name": "Kettle", "category": "kitchen", "info": {"litres": 1.7}}}),
        )
        .await;
    let id = id_of(&created, "createProduct");
    let product = app.wait_for_product(&id, |p| !p.is_null()).await;
    assert_eq!(product["name"], "Kettle");
    assert_eq!(
        product["info"],
        json!({"litres": 1.7, "category": "kitchen"})
    );
    // The relay marks the event published once EventBridge took it (the consumer may apply it
    // first: both race after the publish).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while stack
        .count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .await
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox still holds unpublished events"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
    stack.cleanup().await;
}

/// The relay stops between commit and publish; on restart the event is delivered, once in
/// effect. Then a crash after publish but before marking: the event goes out twice, and the
/// read model still holds exactly one product at version 1.
#[tokio::test]
async fn relay_interrupted_between_commit_and_publish_delivers_once_in_effect() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let config = stack.quiet();
    let app = stack.start_with(config).await;
    let c = app.server.adapters.clone();
    let seller = stack.token("alice", &[Role::Seller]);

    let (_, created) = app
        .graphql(
            Some(&seller),
            CREATE_PRODUCT,
            json!({"input": {"name": "Tent", "category": "outdoor"}}),
        )
        .await;
    let id = id_of(&created, "createProduct");
    let uuid: uuid::Uuid = id.parse().unwrap();
    // Committed, not yet published: the catalog does not have it.
    assert_eq!(c.observed.outbox.pending_count().await.unwrap(), 1);
    assert!(c.ports.catalog.product(uuid).await.unwrap().is_none());

    // The relay comes back.
    let report = relay::relay_once(c.outbox.as_ref(), c.publisher.as_ref(), 100)
        .await
        .unwrap();
    assert_eq!((report.claimed, report.published, report.failed), (1, 1, 0));
    assert_eq!(
        c.ports
            .catalog
            .product(uuid)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    let again = relay::relay_once(c.outbox.as_ref(), c.publisher.as_ref(), 100)
        .await
        .unwrap();
    assert_eq!(again.claimed, 0, "a published event is not sent again");

    // Second product: publish, then "crash" before the claim commits (the transaction rolls back).
    let (_, created) = app
        .graphql(
            Some(&seller),
            CREATE_PRODUCT,
            json!({"input": {"name": "Stove", "category": "outdoor"}}),
        )
        .await;
    let stove: uuid::Uuid = id_of(&created, "createProduct").parse().unwrap();
    let claim = c.outbox.claim(100).await.unwrap();
    assert_eq!(claim.events().len(), 1);
    let outcomes = c.publisher.publish(claim.events()).await;
    assert!(outcomes.iter().all(Result::is_ok));
    drop(claim);
    assert_eq!(c.observed.outbox.pending_count().await.unwrap(), 1);
    let redelivered = relay::relay_once(c.outbox.as_ref(), c.publisher.as_ref(), 100)
        .await
        .unwrap();
    assert_eq!(redelivered.published, 1);
    assert_eq!(c.observed.outbox.pending_count().await.unwrap(), 0);
    let stored = c.ports.catalog.product(stove).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("Stove", 1));

    let (_, page) = app
        .graphql(
            None,
            r#"{ products(filter: {category: "outdoor"}) { edges { node { name } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        page["data"]["products"]["edges"],
        json!([{"node": {"name": "Stove"}}, {"node": {"name": "Tent"}}]),
        "each product exactly once, newest first"
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn projector_ignores_stale_and_duplicate_events() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let config = stack.quiet();
    let app = stack.start_with(config).await;
    let c = app.server.adapters.clone();

    let id = uuid::Uuid::now_v7();
    let doc = |version: i64, name: &str| {
        let now = chrono::Utc::now();
        EventEnvelope::new(
            PRODUCT_UPSERTED,
            id,
            version,
            json!({
                "id": id, "sellerId": "alice", "name": name, "category": "c",
                "info": {"category": "c"}, "version": version,
                "createdAt": now, "updatedAt": now
            }),
        )
    };
    use mercado::workers::projector::Projected;
    assert_eq!(
        c.projector.project(&doc(2, "v2")).await.unwrap(),
        Projected::Applied
    );
    assert_eq!(
        c.projector.project(&doc(1, "v1")).await.unwrap(),
        Projected::Stale
    );
    assert_eq!(
        c.projector.project(&doc(2, "v2 again")).await.unwrap(),
        Projected::Stale
    );
    let stored = c.ports.catalog.product(id).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("v2", 2));
    assert_eq!(
        c.projector.project(&doc(3, "v3")).await.unwrap(),
        Projected::Applied
    );
    assert_eq!(
        c.ports.catalog.product(id).await.unwrap().unwrap().name,
        "v3"
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn pages_are_full_ordered_and_cursors_are_checked() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let seller = stack.token("alice", &[Role::Seller]);
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, created) = app
            .graphql(
                Some(&seller),
                CREATE_PRODUCT,
                json!({"input": {"name": format!("p{i}"), "category": "paged"}}),
            )
            .await;
        ids.push(id_of(&created, "createProduct"));
    }
    app.wait_for_product(ids.last().unwrap(), |p| !p.is_null())
        .await;
    let q = "query($after: String) { products(filter: {category: \"paged\"}, first: 2, after: $after) { edges { node { name } cursor } pageInfo { hasNextPage endCursor } } }";
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    let mut after = Value::Null;
    loop {
        let (_, body) = app.graphql(None, q, json!({"after": after})).await;
        let conn = &body["data"]["products"];
        let edges = conn["edges"].as_array().unwrap();
        sizes.push(edges.len());
        names.extend(
            edges
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_string()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(names, ["p4", "p3", "p2", "p1", "p0"]);

    // A cursor from another listing, and garbage, are refused on `after`.
    let (_, all) = app
        .graphql(
            None,
            "{ products(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let foreign = all["data"]["products"]["pageInfo"]["endCursor"].clone();
    for bad in [foreign, json!("garbage")] {
        let (_, body) = app.graphql(None, q, json!({"after": bad})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "after");
    }
    let (_, too_many) = app
        .graphql(
            None,
            "{ products(first: 101) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(too_many["errors"][0]["extensions"]["field"], "first");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn get_queries_accept_operation_name_and_refuse_mutations() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let get = |params: Vec<(&'static str, &'static str)>| {
        app.http
            .get(format!("{}/graphql", app.base))
            .query(&params)
            .send()
    };
    let resp = get(vec![
        (
            "query",
            "query A { a: __typename } query B { b: __typename }",
        ),
        ("operationName", "B"),
    ])
    .await
    .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"], json!({"b": "Query"}));
    let resp = get(vec![(
        "query",
        "mutation { createProduct(input: {name: \"x\", category: \"y\"}) { id } }",
    )])
    .await
    .unwrap();
    assert_eq!(resp.status(), 405);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn readiness_names_the_dependency_that_does_not_answer() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    app.stop().await;

    let mut config = stack.config.clone();
    config.aws.catalog_table = "no-such-table".into();
    let app = stack.start_with(config).await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["failing"], json!(["dynamodb"]), "{body}");
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn the_web_client_is_served_with_its_routes_cached_assets_and_compression() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let root = std::env::temp_dir().join(format!("mercado-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>mercado</title>",
    )
    .unwrap();
    std::fs::write(root.join("assets/app-1a2b.js"), "console.log('plain')").unwrap();
    std::fs::write(root.join("assets/app-1a2b.js.gz"), "pretend gzip").unwrap();
    let mut config = stack.config.clone();
    config.web_root = root.clone();
    let app = stack.start_with(config).await;
    let get = |path: &str, encoding: &str| {
        let request = app
            .http
            .get(format!("{}{path}", app.base))
            .header("accept-encoding", encoding);
        async move { request.send().await.unwrap() }
    };

    // The client's own routes answer its page, always revalidated.
    for path in ["/", "/products/123", "/orders/abc/timeline"] {
        let page = get(path, "identity").await;
        assert_eq!(page.status(), 200, "{path}");
        assert_eq!(page.headers()["cache-control"], "no-cache", "{path}");
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("<title>mercado</title>")
        );
    }
    // Hashed assets: cached for good, precompressed when the browser accepts it.
    let plain = get("/assets/app-1a2b.js", "identity").await;
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(plain.text().await.unwrap(), "console.log('plain')");
    let gzipped = get("/assets/app-1a2b.js", "gzip").await;
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    // A missing asset is missing, not the page; the API keeps its routes.
    assert_eq!(get("/assets/gone-9f8e.js", "identity").await.status(), 404);
    assert_eq!(get("/healthz", "identity").await.status(), 200);
    let graphiql = get("/graphiql", "identity").await.text().await.unwrap();
    assert!(graphiql.contains("graphiql"), "{graphiql}");
    app.stop().await;
    stack.cleanup().await;
    std::fs::remove_dir_all(root).unwrap();
}
