//! Purchases: placing orders (role, validation, pricing, idempotency), who reads an order and
//! how much of it, the buyer's listing, cancellation rules, and the `orderStatus` stream.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Answer, Harness, buyer, seller, text, user};
use crate::{Role, Viewer, money::Money, purchases::OrderStatus};

const PLACE: &str = "mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
        id buyerId status reason
        total { amount currency }
        lines { variantId productId sellerId sku quantity unitPrice { amount currency } }
        transitions { status reason }
    }
}";
const ORDER: &str =
    "query($id: ID!) { order(id: $id) { id buyerId status lines { sku sellerId } } }";
const MY_ORDERS: &str = "query($first: Int! = 20, $after: String) {
    myOrders(first: $first, after: $after) {
        edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
    }
}";
const MY_SALES: &str = "query($first: Int! = 20, $after: String) {
    mySales(first: $first, after: $after) {
        edges { cursor node { id buyerId total { amount } lines { sku sellerId } shippingAddress { name city country } } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
    }
}";
const CANCEL: &str = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }";
const STATUS: &str = "subscription($id: ID!) { orderStatus(orderId: $id) { status reason at } }";

fn money(amount: i64, currency: &str) -> Money {
    Money {
        amount,
        currency: currency.into(),
    }
}

/// A mug sold by sam (12.50 EUR) and a lamp sold by eve (40.00 EUR).
fn shop(h: &Harness) -> (Uuid, Uuid) {
    (
        h.orders.for_sale("sam", "MUG-1", money(1250, "EUR")),
        h.orders.for_sale("eve", "LAMP-1", money(4000, "EUR")),
    )
}

fn input(items: &[(Value, i64)], token: &str, key: &str) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, quantity)| json!({"variantId": id, "quantity": quantity}))
        .collect();
    json!({"input": {
        "items": items, "paymentToken": token, "idempotencyKey": key,
        "shippingAddress": address(),
    }})
}

/// Where ana's orders ship.
fn address() -> Value {
    json!({
        "name": "Ana", "line1": "Calle Mayor 1", "line2": null, "city": "Madrid",
        "postalCode": "28013", "country": "ES"
    })
}

async fn place(h: &Harness, by: &Viewer, items: &[(Uuid, i64)], key: &str) -> Answer {
    let items: Vec<(Value, i64)> = items.iter().map(|(id, q)| (json!(id), *q)).collect();
    h.gql(PLACE)
        .by(by)
        .vars(input(&items, "tok_approve", key))
        .send()
        .await
}

/// Places an order and answers its id.
async fn placed(h: &Harness, by: &Viewer, items: &[(Uuid, i64)], key: &str) -> Uuid {
    let answer = place(h, by, items, key).await;
    Uuid::parse_str(text(answer.ok(), "/placeOrder/id")).unwrap()
}

#[tokio::test]
async fn an_order_is_placed_pending_and_priced_now() {
    let h = Harness::new();
    let (mug, lamp) = shop(&h);
    let answer = place(&h, &buyer("ana"), &[(mug, 2), (lamp, 1)], "k1").await;
    let order = &answer.ok()["placeOrder"];
    assert_eq!(order["buyerId"], "ana");
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["reason"], Value::Null);
    assert_eq!(order["total"], json!({"amount": 6500, "currency": "EUR"}));
    assert_eq!(
        order["transitions"],
        json!([{"status": "PENDING", "reason": null}])
    );
    assert_eq!(
        order["lines"][0],
        json!({
            "variantId": mug.to_string(),
            "productId": order["lines"][0]["productId"],
            "sellerId": "sam", "sku": "MUG-1", "quantity": 2,
            "unitPrice": {"amount": 1250, "currency": "EUR"}
        })
    );
    assert_eq!(order["lines"][1]["sku"], "LAMP-1");
}

#[tokio::test]
async fn placing_needs_the_buyer_role() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    h.gql(PLACE)
        .vars(input(&[(json!(mug), 1)], "tok_approve", "k"))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    place(&h, &seller("sam"), &[(mug, 1)], "k")
        .await
        .refused("FORBIDDEN", None);
    place(
        &h,
        &user("both", &[Role::Seller, Role::Buyer]),
        &[(mug, 1)],
        "k",
    )
    .await
    .ok();
    assert_eq!(h.orders.count(), 1);
}

#[tokio::test]
async fn every_order_violation_is_named_and_nothing_is_placed() {
    let h = Harness::new();
    let (mug, lamp) = shop(&h);
    let ana = buyer("ana");
    let fifty_one: Vec<(Value, i64)> = (0..51).map(|_| (json!(Uuid::new_v4()), 1)).collect();
    let long = "x".repeat(201);
    for (vars, field) in [
        (input(&[], "tok", "k"), "input.items"),
        (input(&fifty_one, "tok", "k"), "input.items"),
        (
            input(&[(json!("nope"), 1)], "tok", "k"),
            "input.items.0.variantId",
        ),
        (
            input(
                &[(json!(mug), 1), (json!(lamp), 1), (json!(mug), 2)],
                "tok",
                "k",
            ),
            "input.items.2.variantId",
        ),
        (
            input(&[(json!(mug), 0)], "tok", "k"),
            "input.items.0.quantity",
        ),
        (
            input(&[(json!(mug), 1001)], "tok", "k"),
            "input.items.0.quantity",
        ),
        (input(&[(json!(mug), 1)], "  ", "k"), "input.paymentToken"),
        (input(&[(json!(mug), 1)], &long, "k"), "input.paymentToken"),
        (input(&[(json!(mug), 1)], "tok", ""), "input.idempotencyKey"),
        (
            input(&[(json!(mug), 1)], "tok", &long),
            "input.idempotencyKey",
        ),
    ] {
        h.gql(PLACE)
            .by(&ana)
            .vars(vars)
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    let all = h
        .gql(PLACE)
        .by(&ana)
        .vars(input(&[(json!(mug), 0), (json!("nope"), 1)], "", " "))
        .send()
        .await;
    assert_eq!(
        all.violations(),
        [
            "input.items.0.quantity",
            "input.items.1.variantId",
            "input.paymentToken",
            "input.idempotencyKey",
        ]
    );
    // The bounds themselves are accepted.
    let fifty: Vec<(Uuid, i64)> = (0..50)
        .map(|i| {
            (
                h.orders.for_sale("sam", &format!("S{i}"), money(1, "EUR")),
                1000,
            )
        })
        .collect();
    assert_eq!(h.orders.count(), 0);
    let big = place(&h, &ana, &fifty, &"k".repeat(200)).await;
    assert_eq!(big.ok()["placeOrder"]["total"]["amount"], 50_000);
}

#[tokio::test]
async fn lines_must_be_for_sale_and_in_one_currency() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let dollars = h.orders.for_sale("sam", "USD-1", money(100, "USD"));
    let ana = buyer("ana");
    let unknown = place(&h, &ana, &[(mug, 1), (Uuid::new_v4(), 1)], "k1").await;
    unknown.refused("BAD_USER_INPUT", Some("input.items.1.variantId"));
    place(&h, &ana, &[(mug, 1), (dollars, 1)], "k2")
        .await
        .refused("BAD_USER_INPUT", Some("input.items"));
    assert_eq!(h.orders.count(), 0);
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_is_the_same_order() {
    let h = Harness::new();
    let (mug, lamp) = shop(&h);
    let ana = buyer("ana");
    let first = placed(&h, &ana, &[(mug, 2), (lamp, 1)], "k1").await;
    // Same body (lines in another order), same key (padded): the same order.
    let again = placed(&h, &ana, &[(lamp, 1), (mug, 2)], "  k1 ").await;
    assert_eq!(again, first);
    assert_eq!(h.orders.count(), 1);
    // The same key with another body is a conflict, whatever differs.
    place(&h, &ana, &[(mug, 3), (lamp, 1)], "k1")
        .await
        .refused("CONFLICT", None);
    h.gql(PLACE)
        .by(&ana)
        .vars(input(
            &[(json!(mug), 2), (json!(lamp), 1)],
            "tok_decline",
            "k1",
        ))
        .send()
        .await
        .refused("CONFLICT", None);
    // Keys are the buyer's own.
    let bob = placed(&h, &buyer("bob"), &[(mug, 2), (lamp, 1)], "k1").await;
    assert_ne!(bob, first);
    assert_eq!(h.orders.count(), 2);
}

#[tokio::test]
async fn an_order_shows_whole_to_its_buyer_and_in_part_to_its_sellers() {
    let h = Harness::new();
    let (mug, lamp) = shop(&h);
    let id = placed(&h, &buyer("ana"), &[(mug, 1), (lamp, 1)], "k").await;
    let read = |viewer: Option<Viewer>, id: Value| {
        let h = &h;
        async move {
            let ask = h.gql(ORDER).vars(json!({"id": id}));
            match viewer {
                Some(v) => ask.by(&v).send().await,
                None => ask.send().await,
            }
        }
    };
    let whole = read(Some(buyer("ana")), json!(id)).await;
    assert_eq!(
        whole.ok()["order"]["lines"],
        json!([{"sku": "MUG-1", "sellerId": "sam"}, {"sku": "LAMP-1", "sellerId": "eve"}])
    );
    let part = read(Some(seller("sam")), json!(id)).await;
    assert_eq!(
        part.ok()["order"]["lines"],
        json!([{"sku": "MUG-1", "sellerId": "sam"}])
    );
    assert_eq!(part.ok()["order"]["buyerId"], "ana");
    // A line of theirs is not enough without the seller role; strangers see nothing.
    for stranger in [buyer("eve"), seller("bob"), buyer("bob")] {
        read(Some(stranger), json!(id))
            .await
            .refused("NOT_FOUND", None);
    }
    read(None, json!(id)).await.refused("UNAUTHENTICATED", None);
    read(Some(buyer("ana")), json!("order-1"))
        .await
        .refused("BAD_USER_INPUT", Some("id"));
    read(Some(buyer("ana")), json!(Uuid::new_v4()))
        .await
        .refused("NOT_FOUND", None);
}

#[tokio::test]
async fn my_orders_lists_the_callers_orders_newest_first() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let ana = buyer("ana");
    let mut ids = Vec::new();
    for key in ["k0", "k1", "k2"] {
        ids.push(placed(&h, &ana, &[(mug, 1)], key).await.to_string());
    }
    placed(&h, &buyer("bob"), &[(mug, 1)], "k0").await;

    let page = h
        .gql(MY_ORDERS)
        .by(&ana)
        .vars(json!({"first": 2}))
        .send()
        .await;
    let page = page.ok();
    assert_eq!(
        super::texts(page, "/myOrders/edges", "/node/id"),
        [ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(page["myOrders"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["myOrders"]["pageInfo"]["hasPreviousPage"], false);
    let end = text(page, "/myOrders/pageInfo/endCursor").to_string();
    let rest = h
        .gql(MY_ORDERS)
        .by(&ana)
        .vars(json!({"first": 2, "after": end}))
        .send()
        .await;
    let rest = rest.ok();
    assert_eq!(
        super::texts(rest, "/myOrders/edges", "/node/id"),
        [ids[0].clone()]
    );
    assert_eq!(rest["myOrders"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["myOrders"]["pageInfo"]["hasPreviousPage"], true);

    let bobs = h.gql(MY_ORDERS).by(&buyer("bob")).send().await;
    assert_eq!(bobs.ok()["myOrders"]["edges"].as_array().unwrap().len(), 1);
    h.gql(MY_ORDERS)
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    for first in [0, 101] {
        h.gql(MY_ORDERS)
            .by(&ana)
            .vars(json!({"first": first}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("first"));
    }
    h.gql(MY_ORDERS)
        .by(&ana)
        .vars(json!({"after": "not a cursor"}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("after"));
}

#[tokio::test]
async fn only_the_buyer_cancels_and_only_before_the_order_ends() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let ana = buyer("ana");
    let id = placed(&h, &ana, &[(mug, 1)], "k").await;
    h.gql(CANCEL)
        .vars(json!({"id": id}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.gql(CANCEL)
        .by(&ana)
        .vars(json!({"id": "x"}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("id"));
    // Even the seller of its line may not cancel it.
    for other in [buyer("bob"), seller("sam")] {
        h.gql(CANCEL)
            .by(&other)
            .vars(json!({"id": id}))
            .send()
            .await
            .refused("NOT_FOUND", None);
    }
    assert!(!h.orders.cancel_requested(id));
    // The saga does the cancelling: the answer is the order as it stands.
    let asked = h.gql(CANCEL).by(&ana).vars(json!({"id": id})).send().await;
    assert_eq!(
        asked.ok()["cancelOrder"],
        json!({"id": id.to_string(), "status": "PENDING"})
    );
    assert!(h.orders.cancel_requested(id));
    assert!(h.orders.advance(id, OrderStatus::StockHeld, None));
    h.gql(CANCEL)
        .by(&ana)
        .vars(json!({"id": id}))
        .send()
        .await
        .ok();
    assert!(h.orders.advance(id, OrderStatus::Paid, None));
    assert!(h.orders.advance(id, OrderStatus::Confirmed, None));
    let late = h.gql(CANCEL).by(&ana).vars(json!({"id": id})).send().await;
    late.refused("CONFLICT", None);
    assert!(
        late.error()["message"]
            .as_str()
            .unwrap()
            .contains("CONFIRMED")
    );
}

#[tokio::test]
async fn order_status_streams_the_current_status_then_each_transition_until_the_end() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let ana = buyer("ana");
    let id = placed(&h, &ana, &[(mug, 1)], "k").await;
    let other = placed(&h, &ana, &[(mug, 1)], "k2").await;
    let mut status = h.gql(STATUS).by(&ana).vars(json!({"id": id})).stream();
    let first = status.next().await;
    assert_eq!(first.ok()["orderStatus"]["status"], "PENDING");
    assert!(first.ok()["orderStatus"]["at"].is_string());
    // Another order's transitions are not this stream's.
    h.orders.advance(other, OrderStatus::StockHeld, None);
    status.quiet_for(Duration::from_millis(100)).await;

    h.orders.advance(id, OrderStatus::StockHeld, None);
    assert_eq!(
        status.next().await.ok()["orderStatus"]["status"],
        "STOCK_HELD"
    );
    // Two transitions committed back to back both arrive, in order.
    h.orders.advance(id, OrderStatus::Paid, None);
    h.orders
        .advance(id, OrderStatus::PaymentFailed, Some("card declined"));
    assert_eq!(status.next().await.ok()["orderStatus"]["status"], "PAID");
    let failed = status.next().await;
    let failed = &failed.ok()["orderStatus"];
    assert_eq!(failed["status"], "PAYMENT_FAILED");
    assert_eq!(failed["reason"], "card declined");
    let at: chrono::DateTime<chrono::Utc> = failed["at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, h.orders.stored(id).unwrap().transitions[3].at);
    status.ends().await;
}

#[tokio::test]
async fn an_ended_order_streams_its_last_status_and_completes() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let ana = buyer("ana");
    let id = placed(&h, &ana, &[(mug, 1)], "k").await;
    h.orders
        .advance(id, OrderStatus::Cancelled, Some("cancelled by the buyer"));
    let mut status = h.gql(STATUS).by(&ana).vars(json!({"id": id})).stream();
    let only = status.next().await;
    assert_eq!(only.ok()["orderStatus"]["status"], "CANCELLED");
    assert_eq!(only.ok()["orderStatus"]["reason"], "cancelled by the buyer");
    status.ends().await;
}

#[tokio::test]
async fn only_the_buyer_and_the_sellers_of_its_lines_follow_an_order() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let id = placed(&h, &buyer("ana"), &[(mug, 1)], "k").await;
    h.gql(STATUS)
        .vars(json!({"id": id}))
        .stream()
        .next()
        .await
        .refused("UNAUTHENTICATED", None);
    // sam sells the mug: his sales list follows the order live.
    let mut sams = h
        .gql(STATUS)
        .by(&seller("sam"))
        .vars(json!({"id": id}))
        .stream();
    assert_eq!(sams.next().await.ok()["orderStatus"]["status"], "PENDING");
    for other in [seller("eve"), buyer("sam"), buyer("bob")] {
        h.gql(STATUS)
            .by(&other)
            .vars(json!({"id": id}))
            .stream()
            .next()
            .await
            .refused("NOT_FOUND", None);
    }
    h.gql(STATUS)
        .by(&buyer("ana"))
        .vars(json!({"id": "x"}))
        .stream()
        .next()
        .await
        .refused("BAD_USER_INPUT", Some("orderId"));
    h.gql(STATUS)
        .by(&buyer("ana"))
        .vars(json!({"id": Uuid::new_v4()}))
        .stream()
        .next()
        .await
        .refused("NOT_FOUND", None);
}

/// Was a defect: a seller's view of an order keeps only their lines but the
/// whole order's `total`, so `total` is not the sum of the lines shown and tells the seller
/// what the buyer spent with other sellers.
#[tokio::test]
async fn a_sellers_view_totals_only_their_own_lines() {
    let h = Harness::new();
    let (mug, lamp) = shop(&h);
    let id = placed(&h, &buyer("ana"), &[(mug, 2), (lamp, 1)], "k").await;
    let part = h
        .gql("query($id: ID!) { order(id: $id) { total { amount } lines { quantity unitPrice { amount } } } }")
        .by(&seller("sam"))
        .vars(json!({"id": id}))
        .send()
        .await;
    let order = &part.ok()["order"];
    assert_eq!(
        order["lines"],
        json!([{"quantity": 2, "unitPrice": {"amount": 1250}}])
    );
    // Before the fix: 6500 (mug 2 × 1250 + eve's lamp 4000).
    assert_eq!(order["total"]["amount"], 2500);
}

/// Was a defect: when the store fails while an `orderStatus` stream waits,
/// the stream completes as if the order had ended, with no error: the client cannot tell a
/// failure from the end.
#[tokio::test]
async fn order_status_says_why_it_stops_when_the_store_fails() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let ana = buyer("ana");
    let id = placed(&h, &ana, &[(mug, 1)], "k").await;
    let mut status = h.gql(STATUS).by(&ana).vars(json!({"id": id})).stream();
    assert_eq!(status.next().await.ok()["orderStatus"]["status"], "PENDING");
    h.orders.set_unavailable(true);
    h.orders.advance(id, OrderStatus::StockHeld, None);
    // Before the fix: the stream ends here, after PENDING, without an error.
    status.next().await.refused("UNAVAILABLE", None);
}

#[tokio::test]
async fn an_order_ships_to_the_given_address_or_else_the_buyers_profile_address() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let ana = buyer("ana");
    let ask = |vars: Value| {
        let (h, ana) = (&h, &ana);
        async move {
            h.gql("mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id shippingAddress { name line1 line2 city postalCode country } } }")
                .by(ana)
                .vars(vars)
                .send()
                .await
        }
    };
    let mut vars = input(&[(json!(mug), 1)], "tok_approve", "given");
    vars["input"]["shippingAddress"]["country"] = json!(" es ");
    let given = ask(vars).await;
    let mut expected = address();
    expected["country"] = json!("ES");
    assert_eq!(given.ok()["placeOrder"]["shippingAddress"], expected);

    // Without one, and with none in the profile: refused, naming the field; nothing placed.
    let mut vars = input(&[(json!(mug), 1)], "tok_approve", "none");
    vars["input"]["shippingAddress"] = Value::Null;
    ask(vars.clone())
        .await
        .refused("BAD_USER_INPUT", Some("input.shippingAddress"));
    assert_eq!(h.orders.count(), 1);

    // With one in the profile, that one; kept on the order when the profile changes later.
    let home = crate::address::Address {
        name: "Ana".into(),
        line1: "Rua Augusta 10".into(),
        line2: Some("3º".into()),
        city: "Lisboa".into(),
        postal_code: "1100-053".into(),
        country: "PT".into(),
    };
    h.profiles.seed(crate::profiles::Profile {
        user_id: "ana".into(),
        shipping_address: Some(home.clone()),
        ..Default::default()
    });
    let defaulted = ask(vars).await;
    let order = &defaulted.ok()["placeOrder"];
    assert_eq!(order["shippingAddress"]["city"], "Lisboa");
    assert_eq!(order["shippingAddress"]["line2"], "3º");
    h.profiles.seed(crate::profiles::Profile {
        user_id: "ana".into(),
        ..Default::default()
    });
    let id = text(defaulted.ok(), "/placeOrder/id").to_string();
    let stored = h.orders.stored(Uuid::parse_str(&id).unwrap()).unwrap();
    assert_eq!(stored.shipping_address, Some(home));

    // A bad address names each bad part; the same key with another address is another body.
    let mut vars = input(&[(json!(mug), 1)], "tok_approve", "given");
    vars["input"]["shippingAddress"] =
        json!({"name": "", "line1": "x", "city": "y", "postalCode": "z", "country": "Spain"});
    let bad = ask(vars).await;
    assert_eq!(
        bad.violations(),
        [
            "input.shippingAddress.country",
            "input.shippingAddress.name"
        ]
    );
    // Each violation's message is the bare reason: its field is named beside it.
    assert_eq!(
        bad.error()["extensions"]["violations"][1]["message"],
        "must not be empty"
    );
    let mut vars = input(&[(json!(mug), 1)], "tok_approve", "given");
    vars["input"]["shippingAddress"]["city"] = json!("Sevilla");
    ask(vars).await.refused("CONFLICT", None);
}

#[tokio::test]
async fn my_sales_lists_the_orders_holding_the_sellers_lines_and_only_those_lines() {
    let h = Harness::new();
    let (mug, lamp) = shop(&h);
    let first = placed(&h, &buyer("ana"), &[(mug, 1), (lamp, 2)], "k1").await;
    placed(&h, &buyer("bob"), &[(lamp, 1)], "k1").await;
    let last = placed(&h, &buyer("bob"), &[(mug, 3)], "k2").await;

    let sams = h
        .gql(MY_SALES)
        .by(&seller("sam"))
        .vars(json!({"first": 1}))
        .send()
        .await;
    let page = sams.ok();
    let edges = &page["mySales"]["edges"];
    assert_eq!(edges[0]["node"]["id"], last.to_string());
    assert_eq!(edges[0]["node"]["total"]["amount"], 3750);
    assert_eq!(edges[0]["node"]["shippingAddress"]["city"], "Madrid");
    assert_eq!(page["mySales"]["pageInfo"]["hasNextPage"], true);
    let end = text(page, "/mySales/pageInfo/endCursor").to_string();
    let rest = h
        .gql(MY_SALES)
        .by(&seller("sam"))
        .vars(json!({"first": 1, "after": end}))
        .send()
        .await;
    let node = &rest.ok()["mySales"]["edges"][0]["node"];
    assert_eq!(node["id"], first.to_string());
    // Only sam's line of ana's order, and what it adds up to.
    assert_eq!(node["lines"], json!([{"sku": "MUG-1", "sellerId": "sam"}]));
    assert_eq!(node["total"]["amount"], 1250);
    assert_eq!(rest.ok()["mySales"]["pageInfo"]["hasNextPage"], false);

    let eves = h.gql(MY_SALES).by(&seller("eve")).send().await;
    assert_eq!(eves.ok()["mySales"]["edges"].as_array().unwrap().len(), 2);
    let none = h.gql(MY_SALES).by(&seller("zoe")).send().await;
    assert_eq!(none.ok()["mySales"]["edges"], json!([]));
    h.gql(MY_SALES)
        .by(&buyer("sam"))
        .send()
        .await
        .refused("FORBIDDEN", None);
    h.gql(MY_SALES)
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.gql(MY_SALES)
        .by(&seller("sam"))
        .vars(json!({"after": "nope"}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("after"));
}

/// A transition whose announcement was lost (the database restarted under the notifier) still
/// reaches the follower once the notifier says announcements were missed.
#[tokio::test]
async fn order_status_catches_up_when_announcements_were_missed() {
    let h = Harness::new();
    let (mug, _) = shop(&h);
    let id = placed(&h, &buyer("ana"), &[(mug, 1)], "k").await;
    let mut status = h
        .gql(STATUS)
        .by(&buyer("ana"))
        .vars(json!({"id": id}))
        .stream();
    assert_eq!(status.next().await.ok()["orderStatus"]["status"], "PENDING");
    assert!(
        h.orders
            .advance_unannounced(id, OrderStatus::StockHeld, None)
    );
    assert!(h.orders.advance_unannounced(id, OrderStatus::Paid, None));
    h.orders.announce_missed();
    assert_eq!(
        status.next().await.ok()["orderStatus"]["status"],
        "STOCK_HELD"
    );
    assert_eq!(status.next().await.ok()["orderStatus"]["status"], "PAID");
}
