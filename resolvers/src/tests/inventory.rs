//! Inventory: every seller-side mutation's rules and refusals as a client reads them (codes,
//! named fields, every violation at once, `currentVersion` on a stale write), over
//! [`crate::fakes::FakeInventory`], which behaves as the PostgreSQL adapter. Where a rule lives
//! in the store (ownership, SKU uniqueness, held stock), the fake is looked behind to check
//! that a refused write changed nothing and a committed one made exactly one new version.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Answer, Harness, buyer, seller, text, user};
use crate::{
    Role, Viewer,
    fakes::{Emitted, HoldStatus, Movement},
    inventory::{HoldOutcome, InventoryStore, StockHolds, parse_image_key},
};

/// Every product field a client can read from a mutation (`seller` aside).
const FIELDS: &str = "fragment P on Product {
    id sellerId name description category info status imageUrl version
    variants { id sku name attributes price { amount currency } onHand held available }
}";
const CREATE: &str =
    "mutation($input: CreateProductInput!) { createProduct(input: $input) { ...P } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: UpdateProductInput!) {
    updateProduct(id: $id, expectedVersion: $v, input: $input) { ...P }
}";
const DELETE: &str =
    "mutation($id: ID!, $v: Int) { deleteProduct(id: $id, expectedVersion: $v) { ...P } }";
const PUBLISH: &str = "mutation($id: ID!) { publishProduct(id: $id) { ...P } }";
const UNPUBLISH: &str = "mutation($id: ID!, $archive: Boolean! = false) {
    unpublishProduct(id: $id, archive: $archive) { ...P }
}";
const ADD_VARIANT: &str = "mutation($id: ID!, $input: VariantInput!) { addVariant(productId: $id, input: $input) { ...P } }";
const UPDATE_VARIANT: &str = "mutation($id: ID!, $input: UpdateVariantInput!) { updateVariant(id: $id, input: $input) { ...P } }";
const REMOVE_VARIANT: &str = "mutation($id: ID!) { removeVariant(id: $id) { ...P } }";
const SET_STOCK: &str = "mutation($id: ID!, $n: Int!, $reason: String! = \"recount\") {
    setStock(variantId: $id, onHand: $n, reason: $reason) { ...P }
}";
const ADJUST_STOCK: &str = "mutation($id: ID!, $d: Int!, $reason: String! = \"recount\") {
    adjustStock(variantId: $id, delta: $d, reason: $reason) { ...P }
}";
const UPLOAD: &str = "mutation($id: ID!, $type: String! = \"image/png\", $length: Int! = 1024) {
    requestProductImageUpload(productId: $id, contentType: $type, contentLength: $length) {
        url method headers { name value } key expiresAt
    }
}";

/// Sends `op` (with the product fragment when it spreads it) with `vars`, as `by` or
/// anonymously.
async fn send(h: &Harness, by: Option<&Viewer>, op: &str, vars: Value) -> Answer {
    let document = if op.contains("...P") {
        format!("{op}\n{FIELDS}")
    } else {
        op.to_string()
    };
    let ask = h.gql(&document).vars(vars);
    match by {
        Some(viewer) => ask.by(viewer).send().await,
        None => ask.send().await,
    }
}

/// The product a successful mutation answered.
#[track_caller]
fn answered(answer: &Answer) -> Value {
    let data = answer.ok().as_object().unwrap();
    assert_eq!(data.len(), 1, "{data:?}");
    data.values().next().unwrap().clone()
}

async fn create(h: &Harness, by: &Viewer, input: Value) -> Answer {
    send(h, Some(by), CREATE, json!({ "input": input })).await
}

/// Creates a product that must be accepted.
async fn created(h: &Harness, by: &Viewer, input: Value) -> Value {
    answered(&create(h, by, input).await)
}

/// A valid product input with `patch`'s fields on top.
fn product(patch: Value) -> Value {
    let mut input = json!({"name": "Lamp", "category": "lighting"});
    for (k, v) in patch.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

/// A valid variant input (1.00 EUR) with `patch`'s fields on top.
fn variant(sku: &str, patch: Value) -> Value {
    let mut input = json!({"sku": sku, "price": {"amount": 100, "currency": "EUR"}});
    for (k, v) in patch.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

fn id(v: &Value) -> Uuid {
    Uuid::parse_str(text(v, "/id")).unwrap()
}

fn variant_id(p: &Value, i: usize) -> Uuid {
    Uuid::parse_str(text(p, &format!("/variants/{i}/id"))).unwrap()
}

fn skus(p: &Value) -> Vec<&str> {
    p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sku"].as_str().unwrap())
        .collect()
}

/// (version, deleted?) of every outbox event, oldest first.
fn emitted(h: &Harness) -> Vec<(i64, bool)> {
    h.inventory
        .events()
        .iter()
        .map(|e| (e.version(), matches!(e, Emitted::Deleted { .. })))
        .collect()
}

/// Holds `quantity` units of a variant for a new order (expiring in an hour).
async fn hold(h: &Harness, variant: Uuid, quantity: i32) -> Uuid {
    let order = Uuid::new_v4();
    let outcome = h
        .inventory
        .hold(order, variant, quantity, Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(outcome, HoldOutcome::Held);
    order
}

#[track_caller]
fn current_version(answer: &Answer) -> i64 {
    answer.refused("CONFLICT", None);
    answer.error()["extensions"]["currentVersion"]
        .as_i64()
        .unwrap()
}

#[track_caller]
fn message(answer: &Answer) -> &str {
    answer.error()["message"].as_str().unwrap()
}

#[tokio::test]
async fn a_product_without_variants_gets_one_default_variant() {
    let h = Harness::new();
    let p = created(
        &h,
        &seller("sam"),
        json!({"name": " Lamp ", "category": " lighting "}),
    )
    .await;
    let hex = id(&p).simple().to_string().to_ascii_uppercase();
    assert_eq!(
        p,
        json!({
            "id": id(&p).to_string(), "sellerId": "sam", "name": "Lamp", "description": "",
            "category": "lighting", "info": {"category": "lighting"}, "status": "ACTIVE",
            "imageUrl": null, "version": 1,
            "variants": [{
                "id": variant_id(&p, 0).to_string(), "sku": format!("SKU-{}", &hex[20..]),
                "name": "Default", "attributes": {}, "price": {"amount": 0, "currency": "EUR"},
                "onHand": 0, "held": 0, "available": 0
            }]
        })
    );
    // Committed with its event, which carries the same document.
    let (stored, deleted) = h.inventory.product(id(&p)).unwrap();
    assert!(!deleted);
    assert_eq!(h.inventory.events(), [Emitted::Upserted(Box::new(stored))]);
}

#[tokio::test]
async fn variants_are_created_in_order_with_their_defaults_and_initial_stock() {
    let h = Harness::new();
    let p = created(
        &h,
        &seller("sam"),
        json!({
            "name": "Mug", "category": "kitchen", "description": "  Stoneware.  ",
            "status": "DRAFT",
            "variants": [
                {"sku": " MUG-S ", "price": {"amount": 1250, "currency": " eur "}, "onHand": 5,
                 "attributes": {"size": "S"}},
                {"sku": "MUG-L", "name": " Large ", "price": {"amount": 1500, "currency": "USD"}}
            ]
        }),
    )
    .await;
    assert_eq!(p["description"], "Stoneware.");
    assert_eq!(p["status"], "DRAFT");
    assert_eq!(p["version"], 1);
    assert_eq!(
        p["variants"],
        json!([
            {"id": variant_id(&p, 0).to_string(), "sku": "MUG-S", "name": "MUG-S",
             "attributes": {"size": "S"}, "price": {"amount": 1250, "currency": "EUR"},
             "onHand": 5, "held": 0, "available": 5},
            {"id": variant_id(&p, 1).to_string(), "sku": "MUG-L", "name": "Large",
             "attributes": {}, "price": {"amount": 1500, "currency": "USD"},
             "onHand": 0, "held": 0, "available": 0}
        ])
    );
    // Only stock actually put in is in the ledger.
    assert_eq!(
        h.inventory.movements(variant_id(&p, 0)),
        [Movement {
            variant_id: variant_id(&p, 0),
            on_hand_delta: 5,
            held_delta: 0,
            reason: "initial stock".into(),
            order_id: None,
        }]
    );
    assert_eq!(h.inventory.movements(variant_id(&p, 1)), []);
}

#[tokio::test]
async fn the_category_can_come_from_info_as_the_rest_api_sends_it_and_stays_mirrored_there() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        json!({"name": "Rake", "info": {"category": "garden", "colour": "green"}}),
    )
    .await;
    assert_eq!(p["category"], "garden");
    assert_eq!(p["info"], json!({"category": "garden", "colour": "green"}));
    // An explicit category wins and overwrites `info.category`.
    let q = created(
        &h,
        &sam,
        json!({"name": "Hoe", "category": "tools", "info": {"category": "garden"}}),
    )
    .await;
    assert_eq!(
        (&q["category"], &q["info"]),
        (&json!("tools"), &json!({"category": "tools"}))
    );
    // Without either, or with a category in `info` that is not a string.
    create(&h, &sam, json!({"name": "Rake"}))
        .await
        .refused("BAD_USER_INPUT", Some("input.category"));
    let odd = create(&h, &sam, json!({"name": "Rake", "info": {"category": 5}})).await;
    assert_eq!(odd.violations(), ["input.info.category", "input.category"]);

    // Updates keep `info.category` equal to the category.
    let id = id(&p);
    let moved = send(
        &h,
        Some(&sam),
        UPDATE,
        json!({"id": id, "v": 1, "input": {"category": " patio "}}),
    )
    .await;
    let moved = answered(&moved);
    assert_eq!(moved["category"], "patio");
    assert_eq!(
        moved["info"],
        json!({"category": "patio", "colour": "green"})
    );
    let replaced = send(
        &h,
        Some(&sam),
        UPDATE,
        json!({"id": id, "v": 2, "input": {"info": {"colour": "blue"}}}),
    )
    .await;
    assert_eq!(
        answered(&replaced)["info"],
        json!({"category": "patio", "colour": "blue"})
    );
    // On update the category comes only from `category`: one in `info` is overwritten.
    let ignored = send(
        &h,
        Some(&sam),
        UPDATE,
        json!({"id": id, "v": 3, "input": {"info": {"category": "garden"}}}),
    )
    .await;
    let ignored = answered(&ignored);
    assert_eq!(ignored["category"], "patio");
    assert_eq!(ignored["info"], json!({"category": "patio"}));
    assert_eq!(ignored["version"], 4);
}

#[tokio::test]
async fn every_create_violation_is_named_and_nothing_is_created() {
    let h = Harness::new();
    let sam = seller("sam");
    let many: Vec<Value> = (0..101)
        .map(|i| variant(&format!("V-{i}"), json!({})))
        .collect();
    let big = json!({"blob": "y".repeat(16 * 1024)});
    let one = |patch: Value| product(json!({ "variants": [variant("A-1", patch)] }));
    for (input, field) in [
        (product(json!({"name": "   "})), "input.name"),
        (product(json!({"name": "x".repeat(201)})), "input.name"),
        (
            product(json!({"description": "d".repeat(5001)})),
            "input.description",
        ),
        (product(json!({"category": " "})), "input.category"),
        (
            product(json!({"category": "c".repeat(101)})),
            "input.category",
        ),
        (product(json!({"info": [1]})), "input.info"),
        (product(json!({"info": big})), "input.info"),
        (product(json!({ "variants": many })), "input.variants"),
        (
            product(json!({"variants": [
                variant("A-1", json!({})), variant("B-1", json!({})), variant(" A-1 ", json!({}))
            ]})),
            "input.variants",
        ),
        (
            product(json!({ "variants": [variant("bad sku!", json!({}))] })),
            "input.variants.0.sku",
        ),
        (
            product(json!({ "variants": [variant(" ", json!({}))] })),
            "input.variants.0.sku",
        ),
        (
            product(json!({ "variants": [variant(&"S".repeat(65), json!({}))] })),
            "input.variants.0.sku",
        ),
        (
            product(json!({"variants": [
                variant("A-1", json!({})), variant("B-1", json!({"name": ""}))
            ]})),
            "input.variants.1.name",
        ),
        (
            one(json!({"name": "n".repeat(201)})),
            "input.variants.0.name",
        ),
        (
            one(json!({"attributes": "red"})),
            "input.variants.0.attributes",
        ),
        (
            one(json!({"price": {"amount": -1, "currency": "EUR"}})),
            "input.variants.0.price.amount",
        ),
        (
            one(json!({"price": {"amount": 1_000_000_001, "currency": "EUR"}})),
            "input.variants.0.price.amount",
        ),
        (
            one(json!({"price": {"amount": 1, "currency": "XXX"}})),
            "input.variants.0.price.currency",
        ),
        (one(json!({"onHand": -1})), "input.variants.0.onHand"),
        (one(json!({"onHand": 1_000_001})), "input.variants.0.onHand"),
    ] {
        let answer = create(&h, &sam, input).await;
        answer.refused("BAD_USER_INPUT", Some(field));
        assert_eq!(answer.violations(), [field]);
    }
    let all = create(
        &h,
        &sam,
        json!({"name": "", "category": "", "variants": [
            {"sku": "a b", "price": {"amount": -5, "currency": "eur"}, "onHand": -1}
        ]}),
    )
    .await;
    assert_eq!(message(&all), "input.name: must not be empty");
    assert_eq!(
        all.violations(),
        [
            "input.name",
            "input.category",
            "input.variants.0.sku",
            "input.variants.0.price.amount",
            "input.variants.0.onHand",
        ]
    );
    assert_eq!(h.inventory.events(), []);

    // The bounds themselves are accepted.
    let mut hundred: Vec<Value> = (0..99)
        .map(|i| variant(&format!("V-{i}"), json!({})))
        .collect();
    hundred.push(variant(
        &"S".repeat(64),
        json!({"name": "n".repeat(200), "price": {"amount": 1_000_000_000, "currency": "JPY"},
               "onHand": 1_000_000}),
    ));
    let edge = created(
        &h,
        &sam,
        json!({"name": "x".repeat(200), "description": "d".repeat(5000),
               "category": "c".repeat(100), "variants": hundred}),
    )
    .await;
    assert_eq!(edge["variants"].as_array().unwrap().len(), 100);
    assert_eq!(edge["variants"][99]["onHand"], 1_000_000);
}

#[tokio::test]
async fn a_sku_the_seller_already_uses_is_refused_on_that_variant() {
    let h = Harness::new();
    let sam = seller("sam");
    let mugs = created(
        &h,
        &sam,
        product(json!({"variants": [variant("MUG-1", json!({})), variant("MUG-2", json!({}))]})),
    )
    .await;
    let taken = create(
        &h,
        &sam,
        product(json!({"variants": [variant("CUP-1", json!({})), variant("MUG-1", json!({}))]})),
    )
    .await;
    taken.refused("BAD_USER_INPUT", Some("input.variants.1.sku"));
    assert_eq!(
        message(&taken),
        "input.variants.1.sku: is already used by another of your variants"
    );
    // All or nothing: CUP-1 was not kept either.
    assert_eq!(emitted(&h), [(1, false)]);
    created(
        &h,
        &sam,
        product(json!({ "variants": [variant("CUP-1", json!({}))] })),
    )
    .await;
    // SKUs are per seller, and a removed variant frees its own.
    created(
        &h,
        &seller("eve"),
        product(json!({ "variants": [variant("MUG-1", json!({}))] })),
    )
    .await;
    answered(
        &send(
            &h,
            Some(&sam),
            REMOVE_VARIANT,
            json!({"id": variant_id(&mugs, 1)}),
        )
        .await,
    );
    created(
        &h,
        &sam,
        product(json!({ "variants": [variant("MUG-2", json!({}))] })),
    )
    .await;
}

#[tokio::test]
async fn an_update_needs_the_current_version_and_says_which_it_is() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(&h, &sam, product(json!({"description": "Old"}))).await;
    let id = id(&p);
    let updated = send(
        &h,
        Some(&sam),
        UPDATE,
        json!({"id": id, "v": 1, "input": {"name": " Desk lamp ", "description": ""}}),
    )
    .await;
    let updated = answered(&updated);
    assert_eq!(
        (
            &updated["name"],
            &updated["description"],
            &updated["category"]
        ),
        (&json!("Desk lamp"), &json!(""), &json!("lighting"))
    );
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["variants"], p["variants"]);

    for stale in [1, 3] {
        let answer = send(
            &h,
            Some(&sam),
            UPDATE,
            json!({"id": id, "v": stale, "input": {"name": "Other"}}),
        )
        .await;
        assert_eq!(current_version(&answer), 2);
        assert_eq!(
            message(&answer),
            "the product changed: current version is 2"
        );
    }
    assert_eq!(h.inventory.product(id).unwrap().0.name, "Desk lamp");
    assert_eq!(emitted(&h), [(1, false), (2, false)]);
}

#[tokio::test]
async fn every_update_violation_is_named() {
    let h = Harness::new();
    let sam = seller("sam");
    let id = id(&created(&h, &sam, product(json!({}))).await);
    for (input, field) in [
        (json!({"name": " "}), "input.name"),
        (json!({"name": "x".repeat(201)}), "input.name"),
        (
            json!({"description": "d".repeat(5001)}),
            "input.description",
        ),
        (json!({"category": ""}), "input.category"),
        (json!({"category": "c".repeat(101)}), "input.category"),
        (json!({"info": [1]}), "input.info"),
        (
            json!({"info": {"blob": "y".repeat(16 * 1024)}}),
            "input.info",
        ),
    ] {
        send(
            &h,
            Some(&sam),
            UPDATE,
            json!({"id": id, "v": 1, "input": input}),
        )
        .await
        .refused("BAD_USER_INPUT", Some(field));
    }
    let all = send(
        &h,
        Some(&sam),
        UPDATE,
        json!({"id": id, "v": 1, "input": {"name": "", "category": "", "info": "x"}}),
    )
    .await;
    assert_eq!(
        all.violations(),
        ["input.name", "input.category", "input.info"]
    );
    assert_eq!(emitted(&h), [(1, false)]);
}

/// Every id-taking mutation, with valid arguments, on `product` and its variant `variant_id`.
fn writes(product: Uuid, variant_id: Uuid) -> Vec<(&'static str, Value)> {
    vec![
        (
            UPDATE,
            json!({"id": product, "v": 1, "input": {"name": "X"}}),
        ),
        (DELETE, json!({"id": product})),
        (PUBLISH, json!({"id": product})),
        (UNPUBLISH, json!({"id": product, "archive": true})),
        (
            ADD_VARIANT,
            json!({"id": product, "input": variant("NEW-1", json!({}))}),
        ),
        (
            UPDATE_VARIANT,
            json!({"id": variant_id, "input": {"name": "X"}}),
        ),
        (REMOVE_VARIANT, json!({"id": variant_id})),
        (SET_STOCK, json!({"id": variant_id, "n": 1})),
        (ADJUST_STOCK, json!({"id": variant_id, "d": 1})),
        (UPLOAD, json!({"id": product})),
    ]
}

#[tokio::test]
async fn only_its_seller_writes_a_product() {
    let h = Harness::new();
    let p = created(&h, &seller("sam"), product(json!({}))).await;
    let (pid, vid) = (id(&p), variant_id(&p, 0));
    let eve = seller("eve");
    for (op, vars) in writes(pid, vid) {
        send(&h, Some(&eve), op, vars)
            .await
            .refused("FORBIDDEN", None);
    }
    for (op, vars) in writes(Uuid::new_v4(), Uuid::new_v4()) {
        send(&h, Some(&eve), op, vars)
            .await
            .refused("NOT_FOUND", None);
    }
    let fields = [
        "id",
        "id",
        "id",
        "id",
        "productId",
        "id",
        "id",
        "variantId",
        "variantId",
        "productId",
    ];
    for ((op, mut vars), field) in writes(pid, vid).into_iter().zip(fields) {
        vars["id"] = json!("not-a-uuid");
        send(&h, Some(&seller("sam")), op, vars)
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    assert_eq!(emitted(&h), [(1, false)]);
    assert_eq!(h.images.presigned(), []);
}

#[tokio::test]
async fn every_mutation_needs_the_seller_role() {
    let h = Harness::new();
    let p = created(&h, &seller("sam"), product(json!({}))).await;
    let mut all = writes(id(&p), variant_id(&p, 0));
    all.push((CREATE, json!({"input": product(json!({}))})));
    for (op, vars) in &all {
        send(&h, None, op, vars.clone())
            .await
            .refused("UNAUTHENTICATED", None);
        let answer = send(&h, Some(&buyer("sam")), op, vars.clone()).await;
        answer.refused("FORBIDDEN", None);
        assert_eq!(message(&answer), "the seller role is required");
    }
    assert_eq!(emitted(&h), [(1, false)]);
    // A buyer who also sells may.
    let both = created(
        &h,
        &user("bo", &[Role::Buyer, Role::Seller]),
        product(json!({})),
    )
    .await;
    assert_eq!(both["sellerId"], "bo");
}

#[tokio::test]
async fn a_deleted_product_is_gone_for_every_write() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(&h, &sam, product(json!({}))).await;
    let (pid, vid) = (id(&p), variant_id(&p, 0));
    let stale = send(&h, Some(&sam), DELETE, json!({"id": pid, "v": 7})).await;
    assert_eq!(current_version(&stale), 1);
    let deleted = answered(&send(&h, Some(&sam), DELETE, json!({"id": pid, "v": 1})).await);
    assert_eq!(
        (&deleted["version"], &deleted["name"]),
        (&json!(2), &json!("Lamp"))
    );
    assert_eq!(emitted(&h), [(1, false), (2, true)]);
    // Soft: the row stays behind the API.
    assert!(h.inventory.product(pid).unwrap().1);
    for (op, vars) in writes(pid, vid) {
        send(&h, Some(&sam), op, vars)
            .await
            .refused("NOT_FOUND", None);
    }
    // Without `expectedVersion` a delete needs no version.
    let other = id(&created(&h, &sam, product(json!({}))).await);
    answered(&send(&h, Some(&sam), DELETE, json!({"id": other})).await);
}

#[tokio::test]
async fn publishing_and_unpublishing_move_the_status_and_a_no_op_makes_no_version() {
    let h = Harness::new();
    let sam = seller("sam");
    let pid = id(&created(&h, &sam, product(json!({"status": "DRAFT"}))).await);
    let mut seen = Vec::new();
    for (op, vars) in [
        (PUBLISH, json!({"id": pid})),
        (PUBLISH, json!({"id": pid})),
        (UNPUBLISH, json!({"id": pid})),
        (UNPUBLISH, json!({"id": pid})),
        (UNPUBLISH, json!({"id": pid, "archive": true})),
        (UNPUBLISH, json!({"id": pid, "archive": true})),
    ] {
        let p = answered(&send(&h, Some(&sam), op, vars).await);
        seen.push((
            p["status"].as_str().unwrap().to_string(),
            p["version"].as_i64().unwrap(),
        ));
    }
    let expected = [
        ("ACTIVE", 2),
        ("ACTIVE", 2),
        ("DRAFT", 3),
        ("DRAFT", 3),
        ("ARCHIVED", 4),
        ("ARCHIVED", 4),
    ]
    .map(|(s, v)| (s.to_string(), v));
    assert_eq!(seen, expected);
    assert_eq!(
        emitted(&h),
        [(1, false), (2, false), (3, false), (4, false)]
    );
}

#[tokio::test]
async fn add_variant_appends_and_refuses_a_taken_sku_or_a_full_product() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(json!({ "variants": [variant("MUG-S", json!({}))] })),
    )
    .await;
    created(
        &h,
        &sam,
        product(json!({ "variants": [variant("CUP-1", json!({}))] })),
    )
    .await;
    let pid = id(&p);
    let added = send(
        &h,
        Some(&sam),
        ADD_VARIANT,
        json!({"id": pid, "input": {"sku": " MUG-L ", "name": "Large",
               "price": {"amount": 1500, "currency": "eur"}, "onHand": 3}}),
    )
    .await;
    let added = answered(&added);
    assert_eq!(skus(&added), ["MUG-S", "MUG-L"]);
    assert_eq!(added["version"], 2);
    assert_eq!(
        added["variants"][1],
        json!({"id": variant_id(&added, 1).to_string(), "sku": "MUG-L", "name": "Large",
               "attributes": {}, "price": {"amount": 1500, "currency": "EUR"},
               "onHand": 3, "held": 0, "available": 3})
    );
    assert_eq!(
        h.inventory.movements(variant_id(&added, 1))[0].reason,
        "initial stock"
    );

    for sku in ["CUP-1", "MUG-S"] {
        let answer = send(
            &h,
            Some(&sam),
            ADD_VARIANT,
            json!({"id": pid, "input": variant(sku, json!({}))}),
        )
        .await;
        answer.refused("BAD_USER_INPUT", Some("input.sku"));
    }
    let bad = send(
        &h,
        Some(&sam),
        ADD_VARIANT,
        json!({"id": pid, "input": {"sku": "", "price": {"amount": 1, "currency": "XX"},
               "onHand": 1_000_001}}),
    )
    .await;
    assert_eq!(
        bad.violations(),
        ["input.sku", "input.price.currency", "input.onHand"]
    );

    let full = created(
        &h,
        &sam,
        product(json!({"variants": (0..100)
            .map(|i| variant(&format!("F-{i}"), json!({})))
            .collect::<Vec<_>>()})),
    )
    .await;
    let more = send(
        &h,
        Some(&sam),
        ADD_VARIANT,
        json!({"id": id(&full), "input": variant("F-100", json!({}))}),
    )
    .await;
    more.refused("BAD_USER_INPUT", Some("productId"));
    assert_eq!(
        message(&more),
        "productId: the product already has the most variants allowed"
    );
    // Room again once one is removed.
    answered(
        &send(
            &h,
            Some(&sam),
            REMOVE_VARIANT,
            json!({"id": variant_id(&full, 0)}),
        )
        .await,
    );
    let again = send(
        &h,
        Some(&sam),
        ADD_VARIANT,
        json!({"id": id(&full), "input": variant("F-100", json!({}))}),
    )
    .await;
    assert_eq!(answered(&again)["variants"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn update_variant_changes_what_it_names_and_refuses_a_taken_sku() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(json!({"variants": [
            variant("MUG-S", json!({"onHand": 2})), variant("MUG-L", json!({}))
        ]})),
    )
    .await;
    let vid = variant_id(&p, 0);
    let changed = send(
        &h,
        Some(&sam),
        UPDATE_VARIANT,
        json!({"id": vid, "input": {"sku": "MUG-SMALL", "name": "Small",
               "attributes": {"size": "S"}, "price": {"amount": 990, "currency": "usd"}}}),
    )
    .await;
    let changed = answered(&changed);
    assert_eq!(
        changed["variants"][0],
        json!({"id": vid.to_string(), "sku": "MUG-SMALL", "name": "Small",
               "attributes": {"size": "S"}, "price": {"amount": 990, "currency": "USD"},
               "onHand": 2, "held": 0, "available": 2})
    );
    assert_eq!(changed["version"], 2);
    // Its own SKU is no conflict; its sibling's is.
    let same = send(
        &h,
        Some(&sam),
        UPDATE_VARIANT,
        json!({"id": vid, "input": {"sku": "MUG-SMALL"}}),
    )
    .await;
    assert_eq!(answered(&same)["version"], 3);
    let taken = send(
        &h,
        Some(&sam),
        UPDATE_VARIANT,
        json!({"id": vid, "input": {"sku": "MUG-L"}}),
    )
    .await;
    taken.refused("BAD_USER_INPUT", Some("input.sku"));
    assert_eq!(
        message(&taken),
        "input.sku: is already used by another of your variants"
    );
    let bad = send(
        &h,
        Some(&sam),
        UPDATE_VARIANT,
        json!({"id": vid, "input": {"sku": "no way", "name": " ", "attributes": [1],
               "price": {"amount": -1, "currency": "EURO"}}}),
    )
    .await;
    assert_eq!(
        bad.violations(),
        [
            "input.sku",
            "input.name",
            "input.attributes",
            "input.price.amount",
            "input.price.currency",
        ]
    );
    assert_eq!(emitted(&h), [(1, false), (2, false), (3, false)]);
    // A removed variant is gone.
    let other = variant_id(&p, 1);
    answered(&send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": other})).await);
    send(
        &h,
        Some(&sam),
        UPDATE_VARIANT,
        json!({"id": other, "input": {"name": "X"}}),
    )
    .await
    .refused("NOT_FOUND", None);
}

#[tokio::test]
async fn a_variant_with_held_units_or_the_last_one_stays() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(json!({"variants": [
            variant("A", json!({"onHand": 5})), variant("B", json!({})), variant("C", json!({}))
        ]})),
    )
    .await;
    let (a, b, c) = (variant_id(&p, 0), variant_id(&p, 1), variant_id(&p, 2));
    let removed = answered(&send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": b})).await);
    assert_eq!(
        (skus(&removed), &removed["version"]),
        (vec!["A", "C"], &json!(2))
    );
    send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": b}))
        .await
        .refused("NOT_FOUND", None);

    hold(&h, a, 2).await;
    let held = send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": a})).await;
    held.refused("BAD_USER_INPUT", Some("id"));
    assert_eq!(
        message(&held),
        "id: units of this variant are held by orders in flight"
    );
    answered(&send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": c})).await);
    let last = send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": a})).await;
    last.refused("BAD_USER_INPUT", Some("id"));
    assert_eq!(message(&last), "id: a product keeps at least one variant");
    let (stored, _) = h.inventory.product(id(&p)).unwrap();
    assert_eq!(stored.variants.len(), 1);
    assert_eq!(stored.version, 4);
}

#[tokio::test]
async fn set_stock_records_the_change_and_never_goes_below_what_is_held() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(json!({ "variants": [variant("A", json!({"onHand": 10}))] })),
    )
    .await;
    let a = variant_id(&p, 0);
    let set = answered(
        &send(
            &h,
            Some(&sam),
            SET_STOCK,
            json!({"id": a, "n": 4, "reason": " recount "}),
        )
        .await,
    );
    assert_eq!(
        (
            &set["variants"][0]["onHand"],
            &set["variants"][0]["available"],
            &set["version"]
        ),
        (&json!(4), &json!(4), &json!(2))
    );
    let order = hold(&h, a, 3).await;
    let below = send(&h, Some(&sam), SET_STOCK, json!({"id": a, "n": 2})).await;
    below.refused("BAD_USER_INPUT", Some("onHand"));
    assert_eq!(
        message(&below),
        "onHand: would make onHand 2: it must stay between the 3 held and 1000000"
    );
    let exact = answered(&send(&h, Some(&sam), SET_STOCK, json!({"id": a, "n": 3})).await);
    assert_eq!(
        exact["variants"][0],
        json!({"id": a.to_string(), "sku": "A", "name": "A", "attributes": {},
               "price": {"amount": 100, "currency": "EUR"}, "onHand": 3, "held": 3,
               "available": 0})
    );
    assert_eq!(exact["version"], 4);
    // The same level again: a new version, but nothing for the ledger.
    let same = answered(&send(&h, Some(&sam), SET_STOCK, json!({"id": a, "n": 3})).await);
    assert_eq!(same["version"], 5);
    let ledger: Vec<(i32, i32, String, Option<Uuid>)> = h
        .inventory
        .movements(a)
        .into_iter()
        .map(|m| (m.on_hand_delta, m.held_delta, m.reason, m.order_id))
        .collect();
    assert_eq!(
        ledger,
        [
            (10, 0, "initial stock".into(), None),
            (-6, 0, "recount".into(), None),
            (0, 3, "hold".into(), Some(order)),
            (-1, 0, "recount".into(), None),
        ]
    );

    for (n, reason, field) in [
        (-1, "r", "onHand"),
        (1_000_001, "r", "onHand"),
        (5, " ", "reason"),
        (5, &*"r".repeat(201), "reason"),
    ] {
        send(
            &h,
            Some(&sam),
            SET_STOCK,
            json!({"id": a, "n": n, "reason": reason}),
        )
        .await
        .refused("BAD_USER_INPUT", Some(field));
    }
    let both = send(
        &h,
        Some(&sam),
        SET_STOCK,
        json!({"id": a, "n": -1, "reason": ""}),
    )
    .await;
    assert_eq!(both.violations(), ["onHand", "reason"]);
    let top = answered(&send(&h, Some(&sam), SET_STOCK, json!({"id": a, "n": 1_000_000})).await);
    assert_eq!(top["variants"][0]["onHand"], 1_000_000);
}

#[tokio::test]
async fn adjust_stock_adds_a_bounded_non_zero_delta_and_never_goes_below_what_is_held() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(json!({ "variants": [variant("A", json!({"onHand": 10}))] })),
    )
    .await;
    let a = variant_id(&p, 0);
    let on_hand = |answer: &Answer| answered(answer)["variants"][0]["onHand"].clone();
    let up = send(
        &h,
        Some(&sam),
        ADJUST_STOCK,
        json!({"id": a, "d": 5, "reason": "delivery"}),
    )
    .await;
    assert_eq!(on_hand(&up), 15);
    let down = send(
        &h,
        Some(&sam),
        ADJUST_STOCK,
        json!({"id": a, "d": -3, "reason": "breakage"}),
    )
    .await;
    assert_eq!(on_hand(&down), 12);
    assert_eq!(answered(&down)["version"], 3);
    let reasons: Vec<(i32, String)> = h
        .inventory
        .movements(a)
        .into_iter()
        .map(|m| (m.on_hand_delta, m.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (10, "initial stock".into()),
            (5, "delivery".into()),
            (-3, "breakage".into())
        ]
    );

    for d in [0, 1_000_001, -1_000_001, i32::MIN] {
        let answer = send(&h, Some(&sam), ADJUST_STOCK, json!({"id": a, "d": d})).await;
        answer.refused("BAD_USER_INPUT", Some("delta"));
        assert_eq!(
            message(&answer),
            "delta: must be non-zero and between -1000000 and 1000000"
        );
    }
    hold(&h, a, 10).await;
    send(&h, Some(&sam), ADJUST_STOCK, json!({"id": a, "d": -3}))
        .await
        .refused("BAD_USER_INPUT", Some("delta"));
    assert_eq!(
        on_hand(&send(&h, Some(&sam), ADJUST_STOCK, json!({"id": a, "d": -2})).await),
        10
    );
    // Within the delta's bounds but past the stock's.
    let over = send(
        &h,
        Some(&sam),
        ADJUST_STOCK,
        json!({"id": a, "d": 1_000_000}),
    )
    .await;
    over.refused("BAD_USER_INPUT", Some("delta"));
    assert_eq!(
        message(&over),
        "delta: would make onHand 1000010: it must stay between the 10 held and 1000000"
    );
    let both = send(
        &h,
        Some(&sam),
        ADJUST_STOCK,
        json!({"id": a, "d": 0, "reason": " "}),
    )
    .await;
    assert_eq!(both.violations(), ["delta", "reason"]);
    // held 10, onHand 10 after: create 1, +5 2, -3 3, hold 4, -2 5.
    assert_eq!(h.inventory.product(id(&p)).unwrap().0.version, 5);
}

#[tokio::test]
async fn an_image_upload_is_presigned_for_an_accepted_type_and_size_and_sets_the_image() {
    let h = Harness::new();
    let sam = seller("sam");
    let pid = id(&created(&h, &sam, product(json!({}))).await);
    let before = Utc::now();
    let answer = h
        .gql(UPLOAD)
        .by(&sam)
        .vars(json!({"id": pid, "type": " Image/PNG ", "length": 1024}))
        .send()
        .await;
    let up = &answer.ok()["requestProductImageUpload"];
    let key = text(up, "/key").to_string();
    let name = key
        .strip_prefix(&format!("products/sam/{pid}/"))
        .and_then(|rest| rest.strip_suffix(".png"))
        .unwrap_or_else(|| panic!("unexpected key {key}"));
    Uuid::parse_str(name).unwrap();
    assert_eq!(parse_image_key(&key), Some(("sam".to_string(), pid)));
    assert_eq!(
        (&up["method"], &up["headers"]),
        (
            &json!("PUT"),
            &json!([{"name": "content-type", "value": "image/png"},
                    {"name": "content-length", "value": "1024"}])
        )
    );
    assert_eq!(
        text(up, "/url"),
        format!("https://images.fake/{key}?X-Amz-Expires=900&X-Amz-Signature=fake")
    );
    let expires = chrono::DateTime::parse_from_rfc3339(text(up, "/expiresAt")).unwrap();
    assert!(
        expires >= before + Duration::minutes(15) && expires <= Utc::now() + Duration::minutes(15)
    );
    assert_eq!(
        h.images.presigned(),
        [(key.clone(), "image/png".into(), 1024)]
    );

    // `FakeImages`' default limit.
    let limit = 5 * 1024 * 1024;
    for (vars, field) in [
        (json!({"id": pid, "type": "image/gif"}), "contentType"),
        (json!({"id": pid, "type": "text/html"}), "contentType"),
        (json!({"id": pid, "type": ""}), "contentType"),
        (json!({"id": pid, "length": 0}), "contentLength"),
        (json!({"id": pid, "length": -1}), "contentLength"),
        (json!({"id": pid, "length": limit + 1}), "contentLength"),
    ] {
        h.gql(UPLOAD)
            .by(&sam)
            .vars(vars)
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    for (t, ext) in [("image/jpeg", "jpg"), ("image/webp", "webp")] {
        let answer = h
            .gql(UPLOAD)
            .by(&sam)
            .vars(json!({"id": pid, "type": t, "length": limit}))
            .send()
            .await;
        assert!(text(answer.ok(), "/requestProductImageUpload/key").ends_with(&format!(".{ext}")));
    }
    assert_eq!(h.images.presigned().len(), 3);
    // Asking changes nothing; the storage's report of the upload does.
    assert_eq!(emitted(&h), [(1, false)]);
    let set = h
        .inventory
        .set_image(pid, "sam", &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(set.image_url, Some(format!("https://images.fake/{key}")));
    assert_eq!(set.version, 2);
    assert_eq!(h.inventory.set_image(pid, "sam", &key).await.unwrap(), None);
    assert_eq!(h.inventory.set_image(pid, "eve", &key).await.unwrap(), None);
    assert_eq!(
        h.inventory
            .set_image(Uuid::new_v4(), "sam", &key)
            .await
            .unwrap(),
        None
    );
    // A client reads it on the next write's answer.
    let read = answered(&send(&h, Some(&sam), PUBLISH, json!({"id": pid})).await);
    assert_eq!(read["imageUrl"], format!("https://images.fake/{key}"));
    assert_eq!(emitted(&h), [(1, false), (2, false)]);

    // A deleted product takes no upload.
    answered(&send(&h, Some(&sam), DELETE, json!({"id": pid})).await);
    h.gql(UPLOAD)
        .by(&sam)
        .vars(json!({"id": pid}))
        .send()
        .await
        .refused("NOT_FOUND", None);
    assert_eq!(h.images.presigned().len(), 3);
}

#[tokio::test]
async fn a_store_that_is_down_is_unavailable() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(&h, &sam, product(json!({}))).await;
    h.inventory.set_unavailable(true);
    create(&h, &sam, product(json!({})))
        .await
        .refused("UNAVAILABLE", None);
    for (op, vars) in writes(id(&p), variant_id(&p, 0)) {
        send(&h, Some(&sam), op, vars)
            .await
            .refused("UNAVAILABLE", None);
    }
    h.inventory.set_unavailable(false);
    assert_eq!(emitted(&h), [(1, false)]);
}

#[tokio::test]
async fn holds_are_idempotent_per_order_and_variant_and_settle_once() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(
            json!({"variants": [variant("A", json!({"onHand": 10})), variant("B", json!({}))]}),
        ),
    )
    .await;
    let (pid, a, b) = (id(&p), variant_id(&p, 0), variant_id(&p, 1));
    let stock = |h: &Harness| {
        let v = &h.inventory.product(pid).unwrap().0.variants[0];
        (v.on_hand, v.held)
    };
    let later = Utc::now() + Duration::hours(1);
    let order = hold(&h, a, 3).await;
    // The same order again: nothing more is held.
    assert_eq!(
        h.inventory.hold(order, a, 3, later).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(stock(&h), (10, 3));
    let greedy = Uuid::new_v4();
    assert_eq!(
        h.inventory.hold(greedy, a, 8, later).await.unwrap(),
        HoldOutcome::Insufficient
    );
    assert_eq!(h.inventory.hold_status(greedy, a), None);
    assert!(h.inventory.hold(greedy, a, 0, later).await.is_err());
    assert_eq!(
        h.inventory
            .hold(greedy, Uuid::new_v4(), 1, later)
            .await
            .unwrap(),
        HoldOutcome::Insufficient
    );

    assert!(h.inventory.commit(order, a).await.unwrap());
    assert_eq!(stock(&h), (7, 0));
    assert!(!h.inventory.commit(order, a).await.unwrap());
    assert!(!h.inventory.release(order, a, "cancelled").await.unwrap());
    assert_eq!(
        h.inventory.hold_status(order, a),
        Some(HoldStatus::Committed)
    );
    // Still idempotent once settled: the order's hold is not made again.
    assert_eq!(
        h.inventory.hold(order, a, 3, later).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(stock(&h), (7, 0));

    // Expired holds are given back; live ones stay.
    let expired = Uuid::new_v4();
    h.inventory
        .hold(expired, a, 2, Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    let live = hold(&h, a, 1).await;
    assert_eq!(stock(&h), (7, 3));
    assert_eq!(h.inventory.release_expired(10).await.unwrap(), 1);
    assert_eq!(stock(&h), (7, 1));
    assert_eq!(
        h.inventory.hold_status(expired, a),
        Some(HoldStatus::Released)
    );
    assert_eq!(h.inventory.hold_status(live, a), Some(HoldStatus::Held));
    assert_eq!(
        h.inventory.movements(a).last(),
        Some(&Movement {
            variant_id: a,
            on_hand_delta: 0,
            held_delta: -2,
            reason: "hold expired".into(),
            order_id: Some(expired),
        })
    );
    // A removed variant holds nothing.
    answered(&send(&h, Some(&sam), REMOVE_VARIANT, json!({"id": b})).await);
    assert_eq!(
        h.inventory.hold(Uuid::new_v4(), b, 1, later).await.unwrap(),
        HoldOutcome::Insufficient
    );
}

#[tokio::test]
async fn the_rest_listing_is_newest_first_without_deleted_products() {
    let h = Harness::new();
    let sam = seller("sam");
    let mut ids = Vec::new();
    for name in ["one", "two", "three", "four"] {
        ids.push(id(
            &created(&h, &sam, product(json!({ "name": name }))).await
        ));
    }
    answered(&send(&h, Some(&sam), DELETE, json!({"id": ids[2]})).await);
    let names =
        |list: Vec<crate::inventory::Product>| list.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(h.inventory.list_products(10).await.unwrap()),
        ["four", "two", "one"]
    );
    assert_eq!(
        names(h.inventory.list_products(2).await.unwrap()),
        ["four", "two"]
    );
    assert_eq!(
        h.inventory.owned_product("sam", ids[0]).await.unwrap().name,
        "one"
    );
}

/// Was a defect (in the PostgreSQL adapter, mirrored by the fake): a deleted product's
/// variants stayed live for the SKU index, so its SKUs were taken for ever.
#[tokio::test]
async fn deleting_a_product_frees_its_skus() {
    let h = Harness::new();
    let sam = seller("sam");
    let lamp = created(
        &h,
        &sam,
        product(json!({ "variants": [variant("LAMP-1", json!({}))] })),
    )
    .await;
    answered(&send(&h, Some(&sam), DELETE, json!({"id": id(&lamp)})).await);
    let again = create(
        &h,
        &sam,
        product(json!({ "variants": [variant("LAMP-1", json!({}))] })),
    )
    .await;
    assert_eq!(skus(&answered(&again)), ["LAMP-1"]);
}

/// Was a defect (in the PostgreSQL adapter, mirrored by the fake): a hold settled after its
/// product's deletion emitted an upsert after the tombstone, bringing the product back.
#[tokio::test]
async fn a_hold_settled_after_deletion_does_not_bring_the_product_back() {
    let h = Harness::new();
    let sam = seller("sam");
    let p = created(
        &h,
        &sam,
        product(json!({ "variants": [variant("A", json!({"onHand": 5}))] })),
    )
    .await;
    let a = variant_id(&p, 0);
    let order = hold(&h, a, 2).await;
    answered(&send(&h, Some(&sam), DELETE, json!({"id": id(&p)})).await);
    assert!(h.inventory.release(order, a, "cancelled").await.unwrap());
    assert_eq!(emitted(&h).last(), Some(&(3, true)));
}
