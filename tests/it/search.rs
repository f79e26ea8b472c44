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

    let deleted = app.delete_product(&seller, &id).await;
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

/// 10,000 products written straight into PostgreSQL, then a new instance's index built from
/// it: a typo finds the intended product, facet counts equal a direct count over PostgreSQL,
/// and `reindex` from empty gives the same answers.
#[tokio::test]
async fn ten_thousand_products_index_from_postgresql_with_facets_equal_to_a_direct_count() {
    let stack = Stack::new(BusKind::Inprocess).await;
    // An instance without workers applies the migrations and keeps no index.
    let migrated = stack.start_with(stack.quiet()).await;
    let mut pg = stack.pg().await;
    sqlx::raw_sql(
        "INSERT INTO products (id, seller_id, name, category, description, status)
         SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
                'seller-' || (n % 7),
                (ARRAY['copper', 'walnut', 'indigo', 'amber'])[1 + n % 4] || ' '
                    || (ARRAY['lantern', 'kettle', 'blanket'])[1 + n % 3] || ' ' || n,
                (ARRAY['lighting', 'kitchen', 'home', 'garden', 'outdoor'])[1 + n % 5],
                'generated',
                CASE WHEN n % 10 = 0 THEN 'DRAFT' ELSE 'ACTIVE' END
         FROM generate_series(1, 10000) AS n;
         INSERT INTO variants (id, product_id, seller_id, sku, name, price_amount, currency, position)
         SELECT gen_random_uuid(), p.id, p.seller_id, 'GEN-' || substr(p.id::text, 25), 'Default',
                100 + (hashtext(p.id::text) & 65535), 'EUR', 0
         FROM products p;
         UPDATE products SET name = 'Zanzibar wristwatch', status = 'ACTIVE'
         WHERE id = '00000000-0000-4000-8000-000000000001';",
    )
    .execute(&mut pg)
    .await
    .unwrap();
    let app = stack.start().await;
    const FACETS: &str = "query($q: String!) { search(query: $q, first: 5) { total edges { node { name } } facets { categories { value count } sellers { value count } } } }";
    let found = search_until(&app, "wristwach", |s| s["total"] == 1).await;
    assert_eq!(found["edges"][0]["node"]["name"], "Zanzibar wristwatch");

    let direct: Vec<(String, i64)> = sqlx::query_as(
        "SELECT category, count(*) FROM products
         WHERE status = 'ACTIVE' AND name ILIKE 'copper lantern %'
         GROUP BY category ORDER BY count(*) DESC, category",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    let expected: i64 = direct.iter().map(|(_, n)| n).sum();
    // The index is built in the background at start: wait until it holds them all.
    search_until(&app, "copper lantern", |s| s["total"] == expected).await;
    let (_, answer) = app
        .graphql(None, FACETS, json!({"q": "copper lantern"}))
        .await;
    let answer = &answer["data"]["search"];
    let facets: Vec<(String, i64)> = answer["facets"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_string(),
                f["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(facets, direct);

    // Rebuilt from empty, the index answers the same.
    let index = app.server.adapters.search.clone().unwrap();
    let before = app
        .graphql(None, FACETS, json!({"q": "walnut blanket"}))
        .await
        .1;
    let rebuilt_dir = stack.data_dir.join("search-rebuilt");
    let rebuilt = mercado::adapters::search::TantivySearch::open(&rebuilt_dir).unwrap();
    let report =
        mercado::workers::reconciler::repair(app.server.adapters.documents.as_ref(), &rebuilt)
            .await
            .unwrap();
    rebuilt.commit().unwrap();
    assert_eq!(report.checked, 10_000);
    use mercado::workers::projector::ReadModel;
    assert_eq!(
        rebuilt.scan().await.unwrap().len(),
        index.scan().await.unwrap().len()
    );
    let request = mercado_resolvers::search::SearchRequest {
        text: "walnut blanket".into(),
        limit: 5,
        facets: vec![
            mercado_resolvers::search::SearchFacet::Category,
            mercado_resolvers::search::SearchFacet::Seller,
        ],
        ..Default::default()
    };
    use mercado_resolvers::search::SearchIndex;
    let (a, b) = (
        index.search(&request).await.unwrap(),
        rebuilt.search(&request).await.unwrap(),
    );
    assert_eq!(a.total, b.total);
    assert_eq!(a.facets, b.facets);
    assert_eq!(a.total, before["data"]["search"]["total"].as_u64().unwrap());
    migrated.stop().await;
    app.stop().await;
    stack.cleanup().await;
}
