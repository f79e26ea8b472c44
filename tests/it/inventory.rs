//! The inventory context over GraphQL against the real stack: every mutation, ownership,
//! optimistic concurrency, the stock ledger under concurrency, holds that never oversell, and
//! presigned image uploads to the local S3 whose notification sets the product's image.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::sync::Arc;

use crate::common::{App, Stack, error_code, id_of, violation_fields};
use mercado::app::config::BusKind;
use mercado_resolvers::{Role, inventory::HoldOutcome};
use serde_json::{Value, json};

const PRODUCT_FIELDS: &str = "id name description category status imageUrl version sellerId variants { id sku name price { amount currency } onHand held available attributes }";

fn create_query() -> String {
    format!(
        "mutation($i: CreateProductInput!) {{ createProduct(input: $i) {{ {PRODUCT_FIELDS} }} }}"
    )
}

async fn call(app: &App, token: &str, mutation: &str, args: &str, vars: Value) -> Value {
    let (_, body) = app
        .graphql(
            Some(token),
            &format!("mutation{args} {{ {mutation} {{ {PRODUCT_FIELDS} }} }}"),
            vars,
        )
        .await;
    body
}

async fn new_product(app: &App, token: &str, on_hand: i32) -> Value {
    let (_, body) = app
        .graphql(
            Some(token),
            &create_query(),
            json!({"i": {"name": "Lamp", "category": "home", "description": "A lamp",
                         "variants": [{"sku": "LAMP-S", "name": "Small", "attributes": {"size": "S"},
                                       "price": {"amount": 1999, "currency": "eur"}, "onHand": on_hand}]}}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createProduct"].clone()
}

#[tokio::test]
async fn every_mutation_works_for_the_owner_and_no_one_else() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let owner = stack.token("owner", &[Role::Seller]);
    let rival = stack.token("rival", &[Role::Seller]);
    let buyer = stack.token("buyer", &[Role::Buyer]);

    // A product without variants gets a default one.
    let (_, bare) = app
        .graphql(
            Some(&owner),
            &create_query(),
            json!({"i": {"name": "Bare", "category": "misc"}}),
        )
        .await;
    let bare = &bare["data"]["createProduct"];
    assert_eq!(bare["variants"].as_array().unwrap().len(), 1);
    assert_eq!(
        bare["variants"][0]["price"],
        json!({"amount": 0, "currency": "EUR"})
    );

    let product = new_product(&app, &owner, 5).await;
    let id = product["id"].as_str().unwrap().to_string();
    let variant = product["variants"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        product["variants"][0]["price"],
        json!({"amount": 1999, "currency": "EUR"})
    );
    assert_eq!(product["variants"][0]["available"], 5);
    assert_eq!(product["status"], "ACTIVE");

    let mutations: Vec<(&str, &str, &str, Value)> = vec![
        (
            "update",
            "updateProduct(id: $id, expectedVersion: $v, input: {name: \"Desk lamp\"})",
            "($id: ID!, $v: Int!)",
            json!({"id": id, "v": 1}),
        ),
        (
            "addVariant",
            "addVariant(productId: $id, input: {sku: \"LAMP-L\", price: {amount: 2999, currency: \"EUR\"}, onHand: 2})",
            "($id: ID!)",
            json!({"id": id}),
        ),
        (
            "updateVariant",
            "updateVariant(id: $vid, input: {price: {amount: 1899, currency: \"EUR\"}})",
            "($vid: ID!)",
            json!({"vid": variant}),
        ),
        (
            "setStock",
            "setStock(variantId: $vid, onHand: 10, reason: \"recount\")",
            "($vid: ID!)",
            json!({"vid": variant}),
        ),
        (
            "adjustStock",
            "adjustStock(variantId: $vid, delta: -3, reason: \"damaged\")",
            "($vid: ID!)",
            json!({"vid": variant}),
        ),
        (
            "unpublish",
            "unpublishProduct(id: $id)",
            "($id: ID!)",
            json!({"id": id}),
        ),
        (
            "publish",
            "publishProduct(id: $id)",
            "($id: ID!)",
            json!({"id": id}),
        ),
    ];
    for (what, mutation, args, vars) in &mutations {
        let before = stack.count("SELECT count(*) FROM outbox").await;
        for (who, token, code) in [
            ("rival", &rival, "FORBIDDEN"),
            ("buyer", &buyer, "FORBIDDEN"),
        ] {
            let body = call(&app, token, mutation, args, vars.clone()).await;
            assert_eq!(error_code(&body), code, "{what} as {who}: {body}");
        }
        let (_, anonymous) = app
            .graphql(
                None,
                &format!("mutation{args} {{ {mutation} {{ id }} }}"),
                vars.clone(),
            )
            .await;
        assert_eq!(
            error_code(&anonymous),
            "UNAUTHENTICATED",
            "{what} anonymous"
        );
        assert_eq!(
            stack.count("SELECT count(*) FROM outbox").await,
            before,
            "{what}: refused calls write nothing"
        );
        let body = call(&app, &owner, mutation, args, vars.clone()).await;
        assert!(body["errors"].is_null(), "{what} as owner: {body}");
        assert_eq!(
            stack.count("SELECT count(*) FROM outbox").await,
            before + 1,
            "{what}: one event per write"
        );
    }
    let state = app
        .wait_for_product(&id, |p| p["version"].as_i64() == Some(8))
        .await;
    assert_eq!(state["name"], "Desk lamp");

    // The stock ledger explains onHand: 5 initial, +5 recount, -3 damaged.
    let ledger: i64 = stack.count("SELECT coalesce(sum(on_hand_delta), 0)::bigint FROM stock_movements m JOIN variants v ON v.id = m.variant_id WHERE v.sku = 'LAMP-S'").await;
    assert_eq!(ledger, 7);

    // Removing: refused for others, then the owner removes the added variant; not the last one.
    let large = call(
        &app,
        &owner,
        "updateVariant(id: $vid, input: {name: \"Small lamp\"})",
        "($vid: ID!)",
        json!({"vid": variant}),
    )
    .await;
    let large_id = large["data"]["updateVariant"]["variants"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = call(
        &app,
        &rival,
        "removeVariant(id: $vid)",
        "($vid: ID!)",
        json!({"vid": large_id}),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let removed = call(
        &app,
        &owner,
        "removeVariant(id: $vid)",
        "($vid: ID!)",
        json!({"vid": large_id}),
    )
    .await;
    assert_eq!(
        removed["data"]["removeVariant"]["variants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let last = call(
        &app,
        &owner,
        "removeVariant(id: $vid)",
        "($vid: ID!)",
        json!({"vid": variant}),
    )
    .await;
    assert_eq!(error_code(&last), "BAD_USER_INPUT");

    // Delete: refused for others; for the owner the product leaves the catalog.
    let refused = call(
        &app,
        &rival,
        "deleteProduct(id: $id)",
        "($id: ID!)",
        json!({"id": id}),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let deleted = call(
        &app,
        &owner,
        "deleteProduct(id: $id)",
        "($id: ID!)",
        json!({"id": id}),
    )
    .await;
    assert!(deleted["errors"].is_null(), "{deleted}");
    app.wait_for_product(&id, Value::is_null).await;
    let again = call(
        &app,
        &owner,
        "publishProduct(id: $id)",
        "($id: ID!)",
        json!({"id": id}),
    )
    .await;
    assert_eq!(error_code(&again), "NOT_FOUND");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn drafts_leave_the_catalog_and_publishing_brings_them_back() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let owner = stack.token("owner", &[Role::Seller]);
    let (_, draft) = app
        .graphql(
            Some(&owner),
            &create_query(),
            json!({"i": {"name": "Secret", "category": "drafts", "status": "DRAFT"}}),
        )
        .await;
    let id = id_of(&draft, "createProduct");
    let listing = "{ products(filter: {category: \"drafts\"}) { edges { node { id } } } }";
    let published = call(
        &app,
        &owner,
        "publishProduct(id: $id)",
        "($id: ID!)",
        json!({"id": id}),
    )
    .await;
    assert_eq!(published["data"]["publishProduct"]["status"], "ACTIVE");
    app.wait_for_product(&id, |p| !p.is_null()).await;
    let (_, page) = app.graphql(None, listing, json!({})).await;
    assert_eq!(
        page["data"]["products"]["edges"].as_array().unwrap().len(),
        1
    );
    call(
        &app,
        &owner,
        "unpublishProduct(id: $id, archive: true)",
        "($id: ID!)",
        json!({"id": id}),
    )
    .await;
    app.wait_for_product(&id, Value::is_null).await;
    let (_, page) = app.graphql(None, listing, json!({})).await;
    assert_eq!(page["data"]["products"]["edges"], json!([]));
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn concurrent_updates_with_the_same_expected_version_let_exactly_one_win() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = Arc::new(stack.start().await);
    let owner = stack.token("owner", &[Role::Seller]);
    let product = new_product(&app, &owner, 1).await;
    let id = product["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..2 {
        let (app, owner, id) = (app.clone(), owner.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            call(
                &app,
                &owner,
                "updateProduct(id: $id, expectedVersion: 1, input: {name: $n})",
                "($id: ID!, $n: String!)",
                json!({"id": id, "n": format!("writer {i}")}),
            )
            .await
        }));
    }
    let mut wins = 0;
    let mut conflicts = Vec::new();
    for t in tasks {
        let body = t.await.unwrap();
        if body["errors"].is_null() {
            wins += 1;
        } else {
            conflicts.push(body);
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(error_code(&conflicts[0]), "CONFLICT");
    assert_eq!(conflicts[0]["errors"][0]["extensions"]["currentVersion"], 2);
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_hundred_concurrent_adjustments_lose_nothing_and_the_ledger_sums_to_on_hand() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = Arc::new(stack.start().await);
    let owner = stack.token("owner", &[Role::Seller]);
    let product = new_product(&app, &owner, 50).await;
    let variant = product["variants"][0]["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (app, owner, variant) = (app.clone(), owner.clone(), variant.clone());
        let delta = if i % 4 == 0 { -1 } else { 2 };
        tasks.push(tokio::spawn(async move {
            let body = call(
                &app,
                &owner,
                "adjustStock(variantId: $v, delta: $d, reason: \"restock\")",
                "($v: ID!, $d: Int!)",
                json!({"v": variant, "d": delta}),
            )
            .await;
            assert!(body["errors"].is_null(), "{body}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // 50 + 75 × 2 − 25 × 1
    let on_hand = stack
        .count("SELECT on_hand::bigint FROM variants WHERE sku = 'LAMP-S'")
        .await;
    assert_eq!(on_hand, 175);
    let ledger = stack
        .count("SELECT sum(on_hand_delta)::bigint FROM stock_movements")
        .await;
    assert_eq!(ledger, on_hand);
    assert_eq!(
        stack.count("SELECT count(*) FROM stock_movements").await,
        101
    );
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn two_hundred_concurrent_holds_on_twenty_units_reserve_exactly_twenty() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let owner = stack.token("owner", &[Role::Seller]);
    let product = new_product(&app, &owner, 20).await;
    let variant: uuid::Uuid = product["variants"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let holds = app.server.adapters.stock.clone();
    let watcher_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Watch the invariant while the race runs.
    let watcher = {
        let stop = watcher_stop.clone();
        let url = stack.database_url.clone();
        tokio::spawn(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut samples = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (on_hand, held): (i32, i32) =
                    sqlx::query_as("SELECT on_hand, held FROM variants WHERE sku = 'LAMP-S'")
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                assert!(
                    on_hand - held >= 0 && held >= 0,
                    "available went negative: {on_hand} - {held}"
                );
                samples += 1;
            }
            samples
        })
    };
    let expires = chrono::Utc::now() + chrono::Duration::minutes(10);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let holds = holds.clone();
        tasks.push(tokio::spawn(async move {
            holds
                .hold(uuid::Uuid::new_v4(), variant, 1, expires)
                .await
                .unwrap()
        }));
    }
    let mut held = 0;
    for t in tasks {
        if t.await.unwrap() == HoldOutcome::Held {
            held += 1;
        }
    }
    watcher_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
    assert_eq!(held, 20);
    assert_eq!(
        stack
            .count("SELECT held::bigint FROM variants WHERE sku = 'LAMP-S'")
            .await,
        20
    );
    assert_eq!(
        stack
            .count("SELECT count(*) FROM stock_holds WHERE status = 'HELD'")
            .await,
        20
    );

    // Commit one, release one, and the same order asking again changes nothing.
    let (order_a, order_b): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT (array_agg(order_id))[1], (array_agg(order_id))[2] FROM stock_holds",
    )
    .fetch_one(&mut stack.pg().await)
    .await
    .unwrap();
    assert!(holds.commit(order_a, variant).await.unwrap());
    assert!(
        !holds.commit(order_a, variant).await.unwrap(),
        "committing twice is a no-op"
    );
    assert!(holds.release(order_b, variant, "cancelled").await.unwrap());
    assert_eq!(
        holds.hold(order_a, variant, 1, expires).await.unwrap(),
        HoldOutcome::Held
    );
    let (on_hand, held): (i32, i32) =
        sqlx::query_as("SELECT on_hand, held FROM variants WHERE sku = 'LAMP-S'")
            .fetch_one(&mut stack.pg().await)
            .await
            .unwrap();
    assert_eq!((on_hand, held), (19, 18));
    let ledger = stack
        .count("SELECT sum(on_hand_delta)::bigint FROM stock_movements")
        .await;
    assert_eq!(ledger, 19);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn expired_holds_are_released_by_the_sweeper_step() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let owner = stack.token("owner", &[Role::Seller]);
    let product = new_product(&app, &owner, 3).await;
    let variant: uuid::Uuid = product["variants"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let holds = app.server.adapters.stock.clone();
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert_eq!(
        holds
            .hold(uuid::Uuid::new_v4(), variant, 2, past)
            .await
            .unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(holds.release_expired(100).await.unwrap(), 1);
    assert_eq!(
        stack
            .count("SELECT held::bigint FROM variants WHERE sku = 'LAMP-S'")
            .await,
        0
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn validation_names_each_field_and_writes_nothing() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let owner = stack.token("owner", &[Role::Seller]);
    let (_, body) = app
        .graphql(Some(&owner), &create_query(), json!({"i": {"name": "", "category": "c",
            "info": {"blob": "x".repeat(17 * 1024)},
            "variants": [{"sku": "bad sku", "price": {"amount": -5, "currency": "XXX"}, "onHand": -1}]}}))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(
        violation_fields(&body),
        [
            "input.name",
            "input.info",
            "input.variants.0.sku",
            "input.variants.0.price.amount",
            "input.variants.0.price.currency",
            "input.variants.0.onHand"
        ]
    );
    let product = new_product(&app, &owner, 1).await;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    let body = call(
        &app,
        &owner,
        "adjustStock(variantId: $v, delta: -5, reason: \"oops\")",
        "($v: ID!)",
        json!({"v": variant}),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "delta");
    let dup = new_product_dup(&app, &owner).await;
    assert_eq!(error_code(&dup), "BAD_USER_INPUT");
    assert_eq!(
        dup["errors"][0]["extensions"]["field"],
        "input.variants.0.sku"
    );
    assert_eq!(stack.count("SELECT count(*) FROM products").await, 1);
    app.stop().await;
    stack.cleanup().await;
}

/// Same SKU as [`new_product`]'s: SKUs are unique per seller.
async fn new_product_dup(app: &App, token: &str) -> Value {
    let (_, body) = app
        .graphql(
            Some(token),
            &create_query(),
            json!({"i": {"name": "Twin", "category": "home",
            "variants": [{"sku": "LAMP-S", "price": {"amount": 1, "currency": "EUR"}}]}}),
        )
        .await;
    body
}

#[tokio::test]
async fn presigned_image_upload_sets_the_image_in_postgres_and_the_catalog() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let owner = stack.token("owner", &[Role::Seller]);
    let rival = stack.token("rival", &[Role::Seller]);
    let product = new_product(&app, &owner, 1).await;
    let id = product["id"].as_str().unwrap().to_string();
    let request = "mutation($id: ID!, $t: String!, $n: Int!) { requestProductImageUpload(productId: $id, contentType: $t, contentLength: $n) { url method headers { name value } key expiresAt } }";

    for (t, n, field) in [
        ("image/png", 50 * 1024 * 1024, "contentLength"),
        ("text/html", 100, "contentType"),
    ] {
        let (_, refused) = app
            .graphql(Some(&owner), request, json!({"id": id, "t": t, "n": n}))
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], field);
    }
    let (_, not_theirs) = app
        .graphql(
            Some(&rival),
            request,
            json!({"id": id, "t": "image/png", "n": 8}),
        )
        .await;
    assert_eq!(error_code(&not_theirs), "FORBIDDEN");

    // The browser's PUT, done by curl as the issue asks.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n";
    let upload = app.upload_image(&owner, &id, png).await;
    assert_eq!(upload["method"], "PUT", "{upload}");
    let key = upload["key"].as_str().unwrap();
    assert!(key.starts_with(&format!("products/owner/{id}/")), "{key}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(upload["expiresAt"].as_str().unwrap()).unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::minutes(15));

    let expected_suffix = format!("/{key}");
    let catalog = app
        .wait_for_product(&id, |p| {
            p["imageUrl"]
                .as_str()
                .is_some_and(|u| u.ends_with(&expected_suffix))
        })
        .await;
    assert_eq!(catalog["version"], 2);
    // The URL serves the image itself, from the private bucket, cacheable for good.
    let url = catalog["imageUrl"].as_str().unwrap();
    let served = reqwest::get(format!("{}{url}", app.base)).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), png);
    // Only product images, and only existing ones.
    for missing in [
        format!("/images/products/owner/{id}/{}.png", uuid::Uuid::new_v4()),
        "/images/unrelated/file.txt".to_string(),
    ] {
        let answer = reqwest::get(format!("{}{missing}", app.base))
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{missing}");
    }
    let stored: Option<String> =
        sqlx::query_scalar("SELECT image_key FROM products WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&mut stack.pg().await)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some(key));

    // A duplicate notification and a stranger's key change nothing.
    let events = app.server.adapters.image_events.clone();
    assert!(!events.apply_key(key).await.unwrap());
    assert!(
        !events
            .apply_key(&format!("products/owner/{}/x.png", uuid::Uuid::new_v4()))
            .await
            .unwrap()
    );
    assert!(
        !events
            .apply_key(&format!("products/rival/{id}/x.png"))
            .await
            .unwrap()
    );
    assert!(!events.apply_key("unrelated/file.txt").await.unwrap());
    assert_eq!(stack.count("SELECT version FROM products").await, 2);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_deleted_products_skus_can_be_used_again() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let seller = stack.token("seller", &[Role::Seller]);
    let create = "mutation { createProduct(input: {name: \"Lamp\", category: \"lighting\", variants: [{sku: \"LAMP-1\", price: {amount: 100, currency: \"EUR\"}}]}) { id } }";
    let (_, first) = app.graphql(Some(&seller), create, json!({})).await;
    let id = &id_of(&first, "createProduct");
    let deleted = app.delete_product(&seller, id).await;
    assert!(
        deleted["data"]["deleteProduct"]["id"].is_string(),
        "{deleted}"
    );
    let (_, again) = app.graphql(Some(&seller), create, json!({})).await;
    assert!(again["data"]["createProduct"]["id"].is_string(), "{again}");
    app.stop().await;
    stack.cleanup().await;
}
