//! Catalog: reads of the read model (one product, listings with filters, sorts and cursors,
//! the seller's own listing, recommendations), the `productChanged` stream, and
//! read-your-writes through consistency tokens.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Harness, READ_WAIT, at, buyer, seller, text, texts, user};
use crate::{
    Role,
    catalog::{AppliedVersion, live::encode_token},
    fakes::sample_product,
    inventory::{Product, ProductStatus},
    profiles::{MerchantInfo, Profile},
};

/// Puts an `ACTIVE` product created at `at(created)` into the catalog.
fn listed(
    h: &Harness,
    seller: &str,
    name: &str,
    category: &str,
    price: i64,
    created: i64,
) -> Product {
    let mut p = sample_product(seller, name, category, price);
    p.created_at = at(created);
    p.updated_at = at(created);
    assert!(h.catalog.put(p.clone()));
    p
}

/// The next version of `p`, changed by `change`.
fn next(p: &Product, change: impl FnOnce(&mut Product)) -> Product {
    let mut n = p.clone();
    n.version += 1;
    change(&mut n);
    n
}

fn token(p: &Product, version: i64) -> String {
    encode_token(&[AppliedVersion { id: p.id, version }])
}

const PRODUCT: &str = "query($id: ID!, $c: [String!]) {
    product(id: $id, consistency: $c) { id name status version consistencyToken }
}";

const PRODUCTS: &str = "query($first: Int! = 20, $after: String, $sort: ProductSort! = NEWEST,
                              $filter: ProductFilter, $c: [String!]) {
    products(first: $first, after: $after, sort: $sort, filter: $filter, consistency: $c) {
        edges { cursor node { name } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
}";

const MY_PRODUCTS: &str = "query($first: Int! = 20, $after: String) {
    myProducts(first: $first, after: $after) {
        edges { node { name status } }
        pageInfo { hasNextPage endCursor }
    }
}";

const RECOMMENDATIONS: &str =
    "query($first: Int! = 10) { recommendations(first: $first) { name } }";

fn names(data: &serde_json::Value, root: &str) -> Vec<String> {
    texts(data, &format!("/{root}/edges"), "/node/name")
}

#[tokio::test]
async fn product_answers_active_products_and_null_for_anything_else() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1999, 0);
    let mut draft = sample_product("sam", "Draft", "lighting", 10);
    draft.status = ProductStatus::Draft;
    h.catalog.put(draft.clone());
    let gone = listed(&h, "sam", "Gone", "lighting", 10, 1);
    h.catalog.tombstone(gone.id, 2);

    let found = h.gql(PRODUCT).vars(json!({"id": lamp.id})).send().await;
    let found = found.ok();
    assert_eq!(text(found, "/product/name"), "Lamp");
    assert_eq!(text(found, "/product/id"), lamp.id.to_string());
    assert_eq!(text(found, "/product/status"), "ACTIVE");
    for id in [draft.id, gone.id, uuid::Uuid::new_v4()] {
        let answer = h.gql(PRODUCT).vars(json!({"id": id})).send().await;
        assert_eq!(answer.ok()["product"], serde_json::Value::Null, "{id}");
    }
    // Even its seller reads a draft only through `myProducts` and `myProduct`.
    let own = h
        .gql(PRODUCT)
        .by(&seller("sam"))
        .vars(json!({"id": draft.id}))
        .send()
        .await;
    assert_eq!(own.ok()["product"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_variant_shows_what_a_buyer_can_still_take() {
    let h = Harness::new();
    let mut lamp = sample_product("sam", "Lamp", "lighting", 1999);
    lamp.variants[0].on_hand = 10;
    lamp.variants[0].held = 3;
    h.catalog.put(lamp.clone());
    let answer = h
        .gql("query($id: ID!) { product(id: $id) { variants { id price { amount currency } onHand held available } } }")
        .vars(json!({"id": lamp.id}))
        .send()
        .await;
    assert_eq!(
        answer.ok()["product"]["variants"],
        json!([{
            "id": lamp.variants[0].id.to_string(),
            "price": {"amount": 1999, "currency": "EUR"},
            "onHand": 10, "held": 3, "available": 7
        }])
    );
}

#[tokio::test]
async fn a_malformed_id_is_bad_input_on_id() {
    let h = Harness::new();
    h.gql(PRODUCT)
        .vars(json!({"id": "not-a-uuid"}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("id"));
}

#[tokio::test]
async fn listings_are_full_pages_newest_first_that_resume_after_their_cursor() {
    let h = Harness::new();
    for i in 0..5 {
        listed(&h, "sam", &format!("p{i}"), "misc", 100, i);
    }
    let page = h.gql(PRODUCTS).vars(json!({"first": 2})).send().await;
    let page = page.ok();
    assert_eq!(names(page, "products"), ["p4", "p3"]);
    assert_eq!(page["products"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["products"]["pageInfo"]["hasPreviousPage"], false);
    let edges = &page["products"]["edges"];
    assert_eq!(
        page["products"]["pageInfo"]["startCursor"],
        edges[0]["cursor"]
    );
    let end = text(page, "/products/pageInfo/endCursor").to_string();
    assert_eq!(end, text(page, "/products/edges/1/cursor"));

    let second = h
        .gql(PRODUCTS)
        .vars(json!({"first": 2, "after": end}))
        .send()
        .await;
    let second = second.ok();
    assert_eq!(names(second, "products"), ["p2", "p1"]);
    assert_eq!(second["products"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(second["products"]["pageInfo"]["hasPreviousPage"], true);

    let end = text(second, "/products/pageInfo/endCursor").to_string();
    let last = h
        .gql(PRODUCTS)
        .vars(json!({"first": 2, "after": end}))
        .send()
        .await;
    let last = last.ok();
    assert_eq!(names(last, "products"), ["p0"]);
    assert_eq!(last["products"]["pageInfo"]["hasNextPage"], false);

    let oldest = h
        .gql(PRODUCTS)
        .vars(json!({"first": 3, "sort": "OLDEST"}))
        .send()
        .await;
    assert_eq!(names(oldest.ok(), "products"), ["p0", "p1", "p2"]);
    // The default page holds everything here (default `first` is 20).
    let all = h
        .gql("{ products { edges { node { name } } } }")
        .send()
        .await;
    assert_eq!(names(all.ok(), "products").len(), 5);
}

#[tokio::test]
async fn page_sizes_are_one_to_a_hundred() {
    let h = Harness::new();
    listed(&h, "sam", "p", "misc", 100, 0);
    for first in [0, -1, 101] {
        h.gql(PRODUCTS)
            .vars(json!({"first": first}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("first"));
        h.gql(MY_PRODUCTS)
            .by(&seller("sam"))
            .vars(json!({"first": first}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("first"));
        h.gql(RECOMMENDATIONS)
            .vars(json!({"first": first}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("first"));
    }
    for first in [1, 100] {
        let page = h.gql(PRODUCTS).vars(json!({"first": first})).send().await;
        assert_eq!(names(page.ok(), "products"), ["p"]);
    }
}

#[tokio::test]
async fn filters_narrow_by_category_seller_and_lowest_price() {
    let h = Harness::new();
    listed(&h, "sam", "cheap book", "books", 500, 0);
    listed(&h, "sam", "dear book", "books", 5000, 1);
    listed(&h, "eve", "eve's book", "books", 1500, 2);
    listed(&h, "eve", "lamp", "lighting", 1500, 3);
    let mut hidden = sample_product("sam", "draft book", "books", 1500);
    hidden.status = ProductStatus::Draft;
    h.catalog.put(hidden);
    let mut two_prices = sample_product("sam", "two prices", "books", 4000);
    two_prices.created_at = at(4);
    let mut cheap = two_prices.variants[0].clone();
    cheap.id = uuid::Uuid::new_v4();
    cheap.price.amount = 900;
    two_prices.variants.push(cheap);
    h.catalog.put(two_prices);

    let by = |filter: serde_json::Value| {
        let h = &h;
        async move {
            let answer = h.gql(PRODUCTS).vars(json!({"filter": filter})).send().await;
            names(answer.ok(), "products")
        }
    };
    assert_eq!(
        by(json!({"category": "books"})).await,
        ["two prices", "eve's book", "dear book", "cheap book"]
    );
    assert_eq!(by(json!({"sellerId": "eve"})).await, ["lamp", "eve's book"]);
    assert_eq!(
        by(json!({"category": "books", "sellerId": "sam"})).await,
        ["two prices", "dear book", "cheap book"]
    );
    // Bounds are inclusive and apply to the lowest variant price.
    assert_eq!(
        by(json!({"minPrice": 900, "maxPrice": 1500})).await,
        ["two prices", "lamp", "eve's book"]
    );
    assert_eq!(by(json!({"minPrice": 5000})).await, ["dear book"]);
    assert_eq!(by(json!({"maxPrice": 499})).await, Vec::<String>::new());
    assert_eq!(
        by(json!({"category": "nothing"})).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn negative_price_bounds_are_bad_input_on_their_filter_field() {
    let h = Harness::new();
    for (filter, field) in [
        (json!({"minPrice": -1}), "filter.minPrice"),
        (json!({"maxPrice": -1}), "filter.maxPrice"),
        (json!({"minPrice": -5, "maxPrice": -1}), "filter.minPrice"),
    ] {
        h.gql(PRODUCTS)
            .vars(json!({"filter": filter}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
}

#[tokio::test]
async fn a_malformed_or_foreign_cursor_is_bad_input_on_after() {
    let h = Harness::new();
    listed(&h, "sam", "a", "books", 100, 0);
    listed(&h, "sam", "b", "books", 100, 1);
    let page = h
        .gql(PRODUCTS)
        .vars(json!({"first": 1, "filter": {"category": "books"}}))
        .send()
        .await;
    let cursor = text(page.ok(), "/products/pageInfo/endCursor").to_string();
    for (vars, message) in [
        (
            json!({"after": "garbage!"}),
            "is not a cursor from this API",
        ),
        // A cursor of the `books` listing, on the whole listing.
        (json!({"after": cursor}), "belongs to another listing"),
        // ...and on the oldest-first order of the same category.
        (
            json!({"after": cursor, "sort": "OLDEST", "filter": {"category": "books"}}),
            "belongs to another listing",
        ),
    ] {
        let answer = h.gql(PRODUCTS).vars(vars).send().await;
        answer.refused("BAD_USER_INPUT", Some("after"));
        assert_eq!(answer.error()["message"], format!("after: {message}"));
    }
}

#[tokio::test]
async fn my_products_is_the_sellers_own_listing_in_every_status() {
    let h = Harness::new();
    listed(&h, "sam", "active", "misc", 100, 0);
    let mut draft = sample_product("sam", "draft", "misc", 100);
    draft.status = ProductStatus::Draft;
    draft.created_at = at(1);
    h.catalog.put(draft);
    let mut archived = sample_product("sam", "archived", "misc", 100);
    archived.status = ProductStatus::Archived;
    archived.created_at = at(2);
    h.catalog.put(archived);
    listed(&h, "eve", "not mine", "misc", 100, 3);

    h.gql(MY_PRODUCTS)
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.gql(MY_PRODUCTS)
        .by(&buyer("sam"))
        .send()
        .await
        .refused("FORBIDDEN", None);
    let mine = h.gql(MY_PRODUCTS).by(&seller("sam")).send().await;
    let mine = mine.ok();
    assert_eq!(names(mine, "myProducts"), ["archived", "draft", "active"]);
    assert_eq!(
        texts(mine, "/myProducts/edges", "/node/status"),
        ["ARCHIVED", "DRAFT", "ACTIVE"]
    );
    let page = h
        .gql(MY_PRODUCTS)
        .by(&seller("sam"))
        .vars(json!({"first": 2}))
        .send()
        .await;
    let end = text(page.ok(), "/myProducts/pageInfo/endCursor").to_string();
    let rest = h
        .gql(MY_PRODUCTS)
        .by(&seller("sam"))
        .vars(json!({"first": 2, "after": end}))
        .send()
        .await;
    assert_eq!(names(rest.ok(), "myProducts"), ["active"]);
}

#[tokio::test]
async fn sellers_of_a_page_are_loaded_in_one_batch() {
    let h = Harness::new();
    h.profiles.seed(Profile {
        user_id: "sam".into(),
        display_name: Some("Samuel".into()),
        merchant: Some(MerchantInfo {
            store_name: "Sam's".into(),
            description: Some("Lamps and more".into()),
        }),
        ..Profile::default()
    });
    for i in 0..4 {
        listed(
            &h,
            if i % 2 == 0 { "sam" } else { "eve" },
            &format!("p{i}"),
            "misc",
            1,
            i,
        );
    }
    let page = h
        .gql("{ products { edges { node { name seller { id storeName description } } } } }")
        .send()
        .await;
    let page = page.ok();
    assert_eq!(
        texts(page, "/products/edges", "/node/seller/id"),
        ["eve", "sam", "eve", "sam"]
    );
    assert_eq!(
        text(page, "/products/edges/1/node/seller/storeName"),
        "Sam's"
    );
    assert_eq!(
        page["products"]["edges"][0]["node"]["seller"]["storeName"],
        serde_json::Value::Null
    );
    assert_eq!(h.profiles.batch_get_calls(), 1);
}

#[tokio::test]
async fn an_unavailable_catalog_is_unavailable() {
    let h = Harness::new();
    h.catalog.set_unavailable(true);
    h.gql(PRODUCTS).send().await.refused("UNAVAILABLE", None);
    h.gql(PRODUCT)
        .vars(json!({"id": uuid::Uuid::new_v4()}))
        .send()
        .await
        .refused("UNAVAILABLE", None);
}

#[tokio::test]
async fn recommendations_are_the_newest_overall_for_anonymous_callers() {
    let h = Harness::new();
    for i in 0..4 {
        listed(
            &h,
            "sam",
            &format!("p{i}"),
            if i % 2 == 0 { "a" } else { "b" },
            1,
            i,
        );
    }
    let answer = h
        .gql(RECOMMENDATIONS)
        .vars(json!({"first": 3}))
        .send()
        .await;
    assert_eq!(
        texts(answer.ok(), "/recommendations", "/name"),
        ["p3", "p2", "p1"]
    );
}

#[tokio::test]
async fn recommendations_follow_favourite_categories_and_skip_the_callers_own() {
    let h = Harness::new();
    listed(&h, "sam", "old book", "books", 1, 0);
    listed(&h, "sam", "lamp", "lighting", 1, 1);
    listed(&h, "sam", "record", "music", 1, 2);
    listed(&h, "sam", "new book", "books", 1, 3);
    listed(&h, "ana", "ana's book", "books", 1, 4);
    listed(&h, "sam", "newest", "garden", 1, 5);
    h.profiles.seed(Profile {
        user_id: "ana".into(),
        favorite_categories: vec!["books".into(), "music".into()],
        ..Profile::default()
    });
    let ana = user("ana", &[Role::Buyer, Role::Seller]);
    let answer = h.gql(RECOMMENDATIONS).by(&ana).send().await;
    // Favourite categories merged newest first; ana's own book is never recommended to her.
    assert_eq!(
        texts(answer.ok(), "/recommendations", "/name"),
        ["new book", "record", "old book"]
    );
    let two = h
        .gql(RECOMMENDATIONS)
        .by(&ana)
        .vars(json!({"first": 2}))
        .send()
        .await;
    assert_eq!(
        texts(two.ok(), "/recommendations", "/name"),
        ["new book", "record"]
    );
    // Without favourites: the newest overall, still never one's own.
    let sam = h.gql(RECOMMENDATIONS).by(&buyer("sam")).send().await;
    assert_eq!(texts(sam.ok(), "/recommendations", "/name"), ["ana's book"]);
}

#[tokio::test]
async fn a_products_consistency_token_names_its_version() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    let answer = h.gql(PRODUCT).vars(json!({"id": lamp.id})).send().await;
    let token = text(answer.ok(), "/product/consistencyToken").to_string();
    assert_eq!(token, self::token(&lamp, 1));
    assert!(token.starts_with("ct1."));
    // A version the catalog holds: answered at once, without error.
    let started = Instant::now();
    let again = h
        .gql(PRODUCT)
        .vars(json!({"id": lamp.id, "c": [token]}))
        .send()
        .await;
    assert_eq!(text(again.ok(), "/product/name"), "Lamp");
    assert!(started.elapsed() < READ_WAIT, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_read_waits_for_the_version_its_token_names() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    let renamed = next(&lamp, |p| p.name = "Lamp v2".into());
    let catalog = h.catalog.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        catalog.put(renamed);
    });
    let answer = h
        .gql(PRODUCT)
        .vars(json!({"id": lamp.id, "c": [token(&lamp, 2)]}))
        .send()
        .await;
    let data = answer.ok();
    assert_eq!(text(data, "/product/name"), "Lamp v2");
    assert_eq!(data["product"]["version"], 2);
}

#[tokio::test]
async fn listings_wait_for_their_tokens_too() {
    let h = Harness::new();
    let first = listed(&h, "sam", "first", "misc", 1, 0);
    let mut second = sample_product("sam", "second", "misc", 1);
    second.created_at = at(1);
    let wanted = token(&second, 1);
    let catalog = h.catalog.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        catalog.put(second);
    });
    let answer = h
        .gql(PRODUCTS)
        .vars(json!({"c": [token(&first, 1), wanted]}))
        .send()
        .await;
    assert_eq!(names(answer.ok(), "products"), ["second", "first"]);
}

#[tokio::test]
async fn a_version_never_reached_is_a_stale_read_beside_the_data() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    let started = Instant::now();
    let answer = h
        .gql(PRODUCT)
        .vars(json!({"id": lamp.id, "c": [token(&lamp, 5)]}))
        .send()
        .await;
    assert!(started.elapsed() >= READ_WAIT, "{:?}", started.elapsed());
    // The data is what the catalog holds...
    assert_eq!(text(&answer.data, "/product/name"), "Lamp");
    // ...with one error saying it may be older than the write.
    answer.refused("STALE_READ", None);
    assert_eq!(answer.error()["path"], json!(["product"]));
    assert_eq!(
        answer.error()["extensions"]["missing"],
        json!([{"id": lamp.id.to_string(), "version": 5, "held": 1}])
    );

    let listing = h
        .gql(PRODUCTS)
        .vars(json!({"c": [token(&lamp, 5)]}))
        .send()
        .await;
    assert_eq!(names(&listing.data, "products"), ["Lamp"]);
    listing.refused("STALE_READ", None);
    // A product the catalog never heard of: held 0.
    let unknown = uuid::Uuid::new_v4();
    let missing = h
        .gql(PRODUCT)
        .vars(json!({"id": unknown, "c": [encode_token(&[AppliedVersion { id: unknown, version: 1 }])]}))
        .send()
        .await;
    assert_eq!(missing.data["product"], serde_json::Value::Null);
    assert_eq!(missing.error()["extensions"]["missing"][0]["held"], 0);
}

#[tokio::test]
async fn a_deletion_satisfies_the_token_of_its_version() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    h.catalog.tombstone(lamp.id, 2);
    let answer = h
        .gql(PRODUCT)
        .vars(json!({"id": lamp.id, "c": [token(&lamp, 2)]}))
        .send()
        .await;
    assert_eq!(answer.ok()["product"], serde_json::Value::Null);
}

#[tokio::test]
async fn malformed_tokens_are_bad_input_on_their_position() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    let good = token(&lamp, 1);
    for (tokens, field) in [
        (json!(["nope"]), "consistency.0"),
        (json!([good, "ct1.AAAA"]), "consistency.1"),
        (json!([good, good, "ct1."]), "consistency.2"),
    ] {
        h.gql(PRODUCT)
            .vars(json!({"id": lamp.id, "c": tokens}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
        h.gql(PRODUCTS)
            .vars(json!({"c": tokens}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    // More than 100 product versions in one read.
    let many: Vec<AppliedVersion> = (0..101)
        .map(|_| AppliedVersion {
            id: uuid::Uuid::new_v4(),
            version: 1,
        })
        .collect();
    h.gql(PRODUCT)
        .vars(json!({"id": lamp.id, "c": [encode_token(&many)]}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("consistency"));
    // An empty list asks for nothing.
    let none = h
        .gql(PRODUCT)
        .vars(json!({"id": lamp.id, "c": []}))
        .send()
        .await;
    assert_eq!(text(none.ok(), "/product/name"), "Lamp");
}

const CHANGES: &str = "subscription($id: ID!) {
    productChanged(id: $id) { version gone product { name status } }
}";

#[tokio::test]
async fn product_changed_streams_each_applied_version_until_the_product_leaves() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    let mut changes = h.gql(CHANGES).vars(json!({"id": lamp.id})).stream();
    let first = changes.next().await;
    assert_eq!(
        first.ok()["productChanged"],
        json!({"version": 1, "gone": null, "product": {"name": "Lamp", "status": "ACTIVE"}})
    );
    let v2 = next(&lamp, |p| p.name = "Lamp v2".into());
    h.catalog.put(v2.clone());
    let second = changes.next().await;
    assert_eq!(second.ok()["productChanged"]["version"], 2);
    assert_eq!(text(second.ok(), "/productChanged/product/name"), "Lamp v2");
    // An older version arriving late is never applied, so never streamed.
    assert!(!h.catalog.put(lamp.clone()));
    h.catalog
        .put(next(&v2, |p| p.status = ProductStatus::Draft));
    let last = changes.next().await;
    assert_eq!(
        last.ok()["productChanged"],
        json!({"version": 3, "gone": "UNPUBLISHED", "product": null})
    );
    changes.ends().await;
}

#[tokio::test]
async fn archiving_and_deleting_end_the_stream_saying_why() {
    let h = Harness::new();
    let archived = listed(&h, "sam", "a", "misc", 1, 0);
    let deleted = listed(&h, "sam", "d", "misc", 1, 1);
    let mut a = h.gql(CHANGES).vars(json!({"id": archived.id})).stream();
    let mut d = h.gql(CHANGES).vars(json!({"id": deleted.id})).stream();
    a.next().await.ok();
    d.next().await.ok();
    h.catalog
        .put(next(&archived, |p| p.status = ProductStatus::Archived));
    h.catalog.tombstone(deleted.id, 2);
    assert_eq!(a.next().await.ok()["productChanged"]["gone"], "ARCHIVED");
    assert_eq!(
        d.next().await.ok()["productChanged"],
        json!({"version": 2, "gone": "DELETED", "product": null})
    );
    a.ends().await;
    d.ends().await;
}

#[tokio::test]
async fn only_its_seller_follows_a_hidden_product_and_only_deletion_ends_that() {
    let h = Harness::new();
    let mut draft = sample_product("sam", "Draft", "misc", 1);
    draft.status = ProductStatus::Draft;
    h.catalog.put(draft.clone());
    let vars = json!({"id": draft.id});
    h.gql(CHANGES)
        .vars(vars.clone())
        .stream()
        .next()
        .await
        .refused("NOT_FOUND", None);
    h.gql(CHANGES)
        .by(&seller("eve"))
        .vars(vars.clone())
        .stream()
        .next()
        .await
        .refused("NOT_FOUND", None);

    let mut own = h.gql(CHANGES).by(&seller("sam")).vars(vars).stream();
    assert_eq!(
        text(own.next().await.ok(), "/productChanged/product/status"),
        "DRAFT"
    );
    let published = next(&draft, |p| p.status = ProductStatus::Active);
    h.catalog.put(published.clone());
    assert_eq!(
        text(own.next().await.ok(), "/productChanged/product/status"),
        "ACTIVE"
    );
    h.catalog
        .put(next(&published, |p| p.status = ProductStatus::Archived));
    let archived = own.next().await;
    assert_eq!(
        text(archived.ok(), "/productChanged/product/status"),
        "ARCHIVED"
    );
    assert_eq!(
        archived.ok()["productChanged"]["gone"],
        serde_json::Value::Null
    );
    h.catalog.tombstone(draft.id, 4);
    assert_eq!(own.next().await.ok()["productChanged"]["gone"], "DELETED");
    own.ends().await;
}

#[tokio::test]
async fn a_product_not_in_the_catalog_yet_is_followed_until_it_appears() {
    let h = Harness::new();
    let lamp = sample_product("sam", "Lamp", "lighting", 1);
    let mut changes = h.gql(CHANGES).vars(json!({"id": lamp.id})).stream();
    // Nothing to say yet; the subscription is open meanwhile.
    changes.quiet_for(Duration::from_millis(50)).await;
    h.catalog.put(lamp.clone());
    let first = changes.next().await;
    assert_eq!(first.ok()["productChanged"]["version"], 1);
    assert_eq!(text(first.ok(), "/productChanged/product/name"), "Lamp");
}

#[tokio::test]
async fn product_changed_refuses_a_malformed_id() {
    let h = Harness::new();
    h.gql(CHANGES)
        .vars(json!({"id": "lamp"}))
        .stream()
        .next()
        .await
        .refused("BAD_USER_INPUT", Some("id"));
}

/// Subscribers arriving together, before the first read of the product is back, wait for it
/// rather than each reading the store.
#[tokio::test]
async fn subscribers_starting_together_share_the_first_read() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    h.catalog.set_read_delay(Duration::from_millis(50));
    let mut streams: Vec<_> = (0..20)
        .map(|_| h.gql(CHANGES).vars(json!({"id": lamp.id})).stream())
        .collect();
    let firsts = futures::future::join_all(streams.iter_mut().map(|s| s.next())).await;
    for first in firsts {
        assert_eq!(first.ok()["productChanged"]["version"], 1);
    }
    assert_eq!(h.catalog.entry_calls(), 1);
}

#[tokio::test]
async fn one_store_read_per_change_serves_every_subscriber() {
    let h = Harness::new();
    let lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    // Let the feed hear the first version's announcement while nobody watches: a late one
    // would be one more read once the subscribers are there.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut streams: Vec<_> = (0..3)
        .map(|_| h.gql(CHANGES).vars(json!({"id": lamp.id})).stream())
        .collect();
    for s in &mut streams {
        assert_eq!(s.next().await.ok()["productChanged"]["version"], 1);
    }
    // The first subscriber read the entry; the others started from what it read.
    assert_eq!(h.catalog.entry_calls(), 1);
    h.catalog.put(next(&lamp, |p| p.name = "v2".into()));
    for s in &mut streams {
        assert_eq!(s.next().await.ok()["productChanged"]["version"], 2);
    }
    assert_eq!(h.catalog.entry_calls(), 2);
}

/// Was a defect: recommendations over-fetch only 10 products past `first`
/// before dropping the caller's own, so a seller whose own products are the newest gets a
/// short (even empty) list although other products are for sale.
#[tokio::test]
async fn recommendations_fill_up_past_the_callers_own_products() {
    let h = Harness::new();
    for i in 0..5 {
        listed(&h, "eve", &format!("eve {i}"), "misc", 1, i);
    }
    for i in 0..15 {
        listed(&h, "sam", &format!("sam {i}"), "misc", 1, 100 + i);
    }
    let answer = h
        .gql(RECOMMENDATIONS)
        .by(&seller("sam"))
        .vars(json!({"first": 5}))
        .send()
        .await;
    // Before the fix: [] (the 15 newest are all sam's own).
    assert_eq!(
        texts(answer.ok(), "/recommendations", "/name"),
        ["eve 4", "eve 3", "eve 2", "eve 1", "eve 0"]
    );
}

/// Was a defect: a `productChanged` subscriber that lagged re-reads the
/// product, and when that read fails the stream completes without an error, as if the
/// product had stayed put: the client cannot tell a failure from the end.
#[tokio::test]
async fn product_changed_says_why_it_stops_when_the_store_fails() {
    let h = Harness::new();
    let mut lamp = listed(&h, "sam", "Lamp", "lighting", 1, 0);
    let mut changes = h.gql(CHANGES).vars(json!({"id": lamp.id})).stream();
    changes.next().await.ok();
    // More changes than a subscriber's buffer (16) while it does not read: it lags.
    for _ in 0..20 {
        lamp = next(&lamp, |_| {});
        h.catalog.put(lamp.clone());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.catalog.set_unavailable(true);
    // Before the fix: the stream ends here without an error.
    changes.next().await.refused("UNAVAILABLE", None);
}

#[tokio::test]
async fn my_product_is_one_of_the_sellers_own_in_any_status() {
    let h = Harness::new();
    let mut draft = sample_product("sam", "Draft lamp", "lighting", 100);
    draft.status = ProductStatus::Draft;
    let theirs = sample_product("eve", "Eve's lamp", "lighting", 100);
    let gone = sample_product("sam", "Gone", "lighting", 100);
    for p in [&draft, &theirs, &gone] {
        h.catalog.put(p.clone());
    }
    h.catalog.tombstone(gone.id, 2);
    const MINE: &str = "query($id: ID!) { myProduct(id: $id) { name status } }";
    let own = h
        .gql(MINE)
        .by(&seller("sam"))
        .vars(json!({"id": draft.id}))
        .send()
        .await;
    assert_eq!(
        own.ok()["myProduct"],
        json!({"name": "Draft lamp", "status": "DRAFT"})
    );
    for id in [theirs.id, gone.id, uuid::Uuid::new_v4()] {
        let none = h
            .gql(MINE)
            .by(&seller("sam"))
            .vars(json!({"id": id}))
            .send()
            .await;
        assert_eq!(none.ok()["myProduct"], serde_json::Value::Null, "{id}");
    }
    h.gql(MINE)
        .by(&buyer("sam"))
        .vars(json!({"id": draft.id}))
        .send()
        .await
        .refused("FORBIDDEN", None);
    h.gql(MINE)
        .by(&seller("sam"))
        .vars(json!({"id": "nope"}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("id"));
}
