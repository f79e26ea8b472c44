//! Purchases over GraphQL against the real stack: the saga's happy path, decline, cancellation,
//! transient gateway failures, idempotent placing, the no-oversell race, and the live
//! `orderStatus` subscription.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::sync::Arc;

use crate::common::{App, Stack, error_code, id_of};
use mercado::app::config::{BusKind, Module, ServeConfig};
use mercado_resolvers::Role;
use serde_json::{Value, json};

/// The saga's engine a suite runs on: every test below that takes one runs on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Runner,
    StepFunctions,
}

/// A stack whose saga runs on `engine`; with Step Functions, the sweeper waits `sweep_seconds`
/// before it finishes what an execution left.
async fn stack_on(engine: Engine, sweep_seconds: i64) -> Stack {
    let mut stack = Stack::new(BusKind::Inprocess).await;
    if engine == Engine::StepFunctions {
        stack.use_stepfunctions(sweep_seconds).await;
    }
    stack
}

/// With Step Functions, the order's own execution (named by its id) ran and succeeded: the
/// state machine, not the sweeper, took the order to its end.
async fn execution_succeeded(stack: &Stack, order: &str) {
    let Some(machine) = &stack.config.saga.state_machine_arn else {
        return;
    };
    let sfn = aws_sdk_sfn::Client::new(&mercado::adapters::aws::load().await);
    let execution = format!(
        "{}:{order}",
        machine.replace(":stateMachine:", ":execution:")
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap()
            .status()
            .as_str()
            .to_string();
        if status != "RUNNING" {
            assert_eq!(status, "SUCCEEDED", "{execution}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{execution} still running"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

const ORDER: &str =
    "query($id: ID!) { order(id: $id) { id status reason transitions { status reason } } }";

/// Polls `order(id)` until it reaches a terminal status (60 s at most).
async fn settled(app: &App, token: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, body) = app.graphql(Some(token), ORDER, json!({"id": id})).await;
        let status = body["data"]["order"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !["PENDING", "STOCK_HELD", "PAID", ""].contains(&status.as_str()) {
            return body["data"]["order"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order {id} never settled: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
}

async fn stock(stack: &Stack) -> (i64, i64) {
    (
        stack
            .count("SELECT on_hand::bigint FROM variants WHERE sku = 'MUG'")
            .await,
        stack
            .count("SELECT held::bigint FROM variants WHERE sku = 'MUG'")
            .await,
    )
}

fn statuses(order: &Value) -> Vec<String> {
    order["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn happy_path_decline_cancel_transient_and_idempotent_retry_on_the_runner() {
    happy_path_decline_cancel_transient_and_idempotent_retry(Engine::Runner).await;
}

#[tokio::test]
async fn happy_path_decline_cancel_transient_and_idempotent_retry_on_step_functions() {
    happy_path_decline_cancel_transient_and_idempotent_retry(Engine::StepFunctions).await;
}

async fn happy_path_decline_cancel_transient_and_idempotent_retry(engine: Engine) {
    // The sweeper waits longer than any of these takes: the executions do the work.
    let stack = stack_on(engine, 120).await;
    let app = stack.start().await;
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 10)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);

    // Happy path.
    let placed = app
        .place_order(&buyer, &variant, 2, "tok_approve", "k1")
        .await;
    let order = &placed["data"]["placeOrder"];
    assert_eq!(order["status"], "PENDING", "{placed}");
    assert_eq!(order["total"], json!({"amount": 2000, "currency": "EUR"}));
    let id = order["id"].as_str().unwrap().to_string();
    let done = settled(&app, &buyer, &id).await;
    assert_eq!(
        statuses(&done),
        ["PENDING", "STOCK_HELD", "PAID", "CONFIRMED"]
    );
    assert_eq!(stock(&stack).await, (8, 0));
    execution_succeeded(&stack, &id).await;

    // A retry with the same key returns the same order; another body with it is a conflict.
    let again = app
        .place_order(&buyer, &variant, 2, "tok_approve", "k1")
        .await;
    assert_eq!(again["data"]["placeOrder"]["id"], id.as_str());
    let clash = app
        .place_order(&buyer, &variant, 3, "tok_approve", "k1")
        .await;
    assert_eq!(error_code(&clash), "CONFLICT");

    // Declined: stock restored.
    let declined = app
        .place_order(&buyer, &variant, 1, "tok_decline", "k2")
        .await;
    let done = settled(&app, &buyer, &id_of(&declined, "placeOrder")).await;
    assert_eq!(done["status"], "PAYMENT_FAILED");
    execution_succeeded(&stack, &id_of(&declined, "placeOrder")).await;
    assert_eq!(stock(&stack).await, (8, 0));

    // Transient gateway failures are retried, then confirmed.
    let flaky = app
        .place_order(&buyer, &variant, 1, "tok_transient", "k3")
        .await;
    let done = settled(&app, &buyer, &id_of(&flaky, "placeOrder")).await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    assert_eq!(stock(&stack).await, (7, 0));

    // Not enough stock.
    let greedy = app
        .place_order(&buyer, &variant, 100, "tok_approve", "k4")
        .await;
    let done = settled(&app, &buyer, &id_of(&greedy, "placeOrder")).await;
    assert_eq!(done["status"], "REJECTED");
    assert!(done["reason"].as_str().unwrap().contains("MUG"));
    execution_succeeded(&stack, &id_of(&greedy, "placeOrder")).await;

    // Other people cannot see the order.
    let stranger = stack.token("stranger", &[Role::Buyer]);
    let (_, hidden) = app.graphql(Some(&stranger), ORDER, json!({"id": id})).await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let seller = stack.token("seller", &[Role::Seller]);
    let (_, sellers) = app
        .graphql(
            Some(&seller),
            "query($id: ID!) { order(id: $id) { lines { sku } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(sellers["data"]["order"]["lines"], json!([{"sku": "MUG"}]));
    let (_, mine) = app
        .graphql(
            Some(&buyer),
            "{ myOrders(first: 10) { edges { node { status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["myOrders"]["edges"].as_array().unwrap().len(),
        4
    );
    // The seller's sales: the same four orders, newest first, paged, with the address.
    let sales = "query($after: String) { mySales(first: 3, after: $after) { edges { node { id status shippingAddress { city country } } } pageInfo { hasNextPage endCursor } } }";
    let (_, page) = app.graphql(Some(&seller), sales, json!({})).await;
    let page = &page["data"]["mySales"];
    assert_eq!(page["edges"][0]["node"]["status"], "REJECTED", "{page}");
    assert_eq!(
        page["edges"][0]["node"]["shippingAddress"],
        json!({"city": "Madrid", "country": "ES"})
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let (_, rest) = app
        .graphql(
            Some(&seller),
            sales,
            json!({"after": page["pageInfo"]["endCursor"]}),
        )
        .await;
    let rest = &rest["data"]["mySales"];
    assert_eq!(rest["edges"][0]["node"]["id"], id.as_str(), "{rest}");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_cancelled_order_releases_its_stock_and_is_refunded() {
    let stack = Stack::new(BusKind::Inprocess).await;
    // The saga is driven step by step here, so the cancellation lands after payment.
    let config = stack.quiet();
    let app = stack.start_with(config).await;
    let c = app.server.adapters.clone();
    // The relay is off: project the seller's product by hand is unnecessary (orders read PG).
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 5)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = app
        .place_order(&buyer, &variant, 2, "tok_approve", "c1")
        .await;
    let id: uuid::Uuid = id_of(&placed, "placeOrder").parse().unwrap();
    use mercado_resolvers::purchases::OrderStatus;
    assert_eq!(
        c.saga.advance(id).await.unwrap(),
        Some(OrderStatus::StockHeld)
    );
    assert_eq!(c.saga.advance(id).await.unwrap(), Some(OrderStatus::Paid));
    assert_eq!(stock(&stack).await, (5, 2));
    let (_, cancelled) = app
        .graphql(
            Some(&buyer),
            "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert!(cancelled["errors"].is_null(), "{cancelled}");
    assert_eq!(
        c.saga.advance(id).await.unwrap(),
        Some(OrderStatus::Cancelled)
    );
    assert_eq!(stock(&stack).await, (5, 0));
    let refunded: String =
        sqlx::query_scalar("SELECT status FROM test_gateway_charges WHERE order_id = $1")
            .bind(id)
            .fetch_one(&mut stack.pg().await)
            .await
            .unwrap();
    assert_eq!(refunded, "REFUNDED");
    let (_, late) = app
        .graphql(
            Some(&buyer),
            "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&late), "CONFLICT");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_twenty_units_confirm_exactly_twenty_on_the_runner() {
    two_hundred_concurrent_orders_for_twenty_units_confirm_exactly_twenty(Engine::Runner).await;
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_twenty_units_confirm_exactly_twenty_on_step_functions() {
    two_hundred_concurrent_orders_for_twenty_units_confirm_exactly_twenty(Engine::StepFunctions)
        .await;
}

async fn two_hundred_concurrent_orders_for_twenty_units_confirm_exactly_twenty(engine: Engine) {
    // Executions race each other for the stock, and (on a loaded machine, where the local
    // interpreter runs 200 executions slowly) the sweeper joins after 20 s: the same
    // conditional steps, so the count holds whoever finishes an order.
    let stack = stack_on(engine, 20).await;
    let app = Arc::new(stack.start().await);
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 20)
        .await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = app.clone();
        let variant = variant.clone();
        let token = stack.token(&format!("buyer-{i}"), &[Role::Buyer]);
        tasks.push(tokio::spawn(async move {
            let placed = app
                .place_order(&token, &variant, 1, "tok_approve", "race")
                .await;
            assert!(placed["errors"].is_null(), "{placed}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Wait for the saga to settle every order, watching the stock invariant meanwhile.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(110);
    loop {
        let (on_hand, held) = stock(&stack).await;
        assert!(
            on_hand - held >= 0 && held >= 0,
            "available went negative: {on_hand} - {held}"
        );
        let open = stack
            .count("SELECT count(*) FROM orders WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID')")
            .await;
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} orders still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let confirmed = stack
        .count("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
        .await;
    let rejected = stack
        .count("SELECT count(*) FROM orders WHERE status = 'REJECTED'")
        .await;
    assert_eq!((confirmed, rejected), (20, 180));
    assert_eq!(stock(&stack).await, (0, 0));
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    stack.cleanup().await;
}

/// A graphql-transport-ws client on `base`, acknowledged, authenticated as `token`.
#[tokio::test]
async fn order_status_streams_every_transition_to_a_client_on_another_instance() {
    use futures::SinkExt;
    use mercado_resolvers::purchases::OrderStatus;
    use tokio_tungstenite::tungstenite::Message;
    let stack = Stack::new(BusKind::Inprocess).await;
    // Instance A runs nothing by itself: the test drives its saga step by step.
    let quiet = stack.quiet();
    let a = stack.start_with(quiet.clone()).await;
    // Instance B only holds the socket.
    let b = stack.start_with(quiet).await;
    let variant = a
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 3)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = a
        .place_order(&buyer, &variant, 1, "tok_approve", "ws")
        .await;
    let id = id_of(&placed, "placeOrder");

    // Someone else may not watch it.
    let mut intruder =
        crate::common::ws_acked(&b.base, Some(&stack.token("intruder", &[Role::Buyer]))).await;
    intruder
        .send(Message::text(json!({"id": "x", "type": "subscribe", "payload": {"query": format!("subscription {{ orderStatus(orderId: \"{id}\") {{ status }} }}")}}).to_string()))
        .await
        .unwrap();
    let refused = crate::common::ws_next(&mut intruder).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );

    let mut socket = crate::common::ws_acked(&b.base, Some(&buyer)).await;
    socket
        .send(Message::text(json!({"id": "1", "type": "subscribe", "payload": {"query": format!("subscription {{ orderStatus(orderId: \"{id}\") {{ status reason at }} }}")}}).to_string()))
        .await
        .unwrap();
    let first = crate::common::ws_next(&mut socket).await;
    assert_eq!(
        first["payload"]["data"]["orderStatus"]["status"], "PENDING",
        "{first}"
    );
    let uuid: uuid::Uuid = id.parse().unwrap();
    let saga = a.server.adapters.saga.clone();
    let mut received = vec!["PENDING".to_string()];
    for expected in [
        OrderStatus::StockHeld,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
    ] {
        assert_eq!(saga.advance(uuid).await.unwrap(), Some(expected));
        let msg = crate::common::ws_next(&mut socket).await;
        received.push(
            msg["payload"]["data"]["orderStatus"]["status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(received, ["PENDING", "STOCK_HELD", "PAID", "CONFIRMED"]);
    assert_eq!(
        crate::common::ws_next(&mut socket).await,
        json!({"id": "1", "type": "complete"})
    );
    a.stop().await;
    b.stop().await;
    stack.cleanup().await;
}

/// Crash at every step: the server is stopped after each saga step (and, for some orders,
/// after a step's side effect but before its status change) and started again. Every order
/// still ends terminal, nothing is charged twice, and stock is conserved.
#[tokio::test]
async fn orders_survive_a_crash_at_every_saga_step() {
    use mercado_resolvers::purchases::OrderStatus;
    let stack = Stack::new(BusKind::Inprocess).await;
    let quiet = stack.quiet();
    let app = stack.start_with(quiet.clone()).await;
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 10)
        .await;
    let variant_id: uuid::Uuid = variant.parse().unwrap();
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let mut ids = Vec::new();
    for (i, token) in [
        "tok_approve",
        "tok_approve",
        "tok_transient",
        "tok_decline",
        "tok_approve",
        "tok_approve",
    ]
    .iter()
    .enumerate()
    {
        let placed = app
            .place_order(&buyer, &variant, 2, token, &format!("crash-{i}"))
            .await;
        ids.push(id_of(&placed, "placeOrder").parse::<uuid::Uuid>().unwrap());
    }
    // The last order asks to be cancelled before anything runs.
    app.graphql(
        Some(&buyer),
        "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
        json!({"id": ids[5]}),
    )
    .await;
    app.stop().await;

    for round in 0..4 {
        let app = stack.start_with(quiet.clone()).await;
        let c = app.server.adapters.clone();
        for id in &ids {
            let _ = c.saga.advance(*id).await.unwrap();
        }
        // Die between a side effect and its status change, for the first order still able to.
        let state = c
            .saga_store
            .saga_state(ids[round % 3])
            .await
            .unwrap()
            .unwrap();
        match state.status {
            OrderStatus::Pending => {
                c.stock
                    .hold(state.id, variant_id, 2, state.hold_expires_at)
                    .await
                    .unwrap();
            }
            OrderStatus::StockHeld => {
                let gateway = c.payments.clone();
                let _ = gateway
                    .charge(state.id, &state.payment_token, state.total_amount)
                    .await;
            }
            OrderStatus::Paid => {
                c.stock.commit(state.id, variant_id).await.unwrap();
            }
            _ => {}
        }
        app.stop().await;
    }

    // Back for good, with the runner on.
    let app = stack.start().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while stack
        .count("SELECT count(*) FROM orders WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID')")
        .await
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "orders stuck after the crashes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let confirmed = stack
        .count("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
        .await;
    assert_eq!(confirmed, 4, "orders 0, 1, 4 (approve) and 2 (transient)");
    assert_eq!(
        stack
            .count("SELECT count(*) FROM orders WHERE status = 'PAYMENT_FAILED'")
            .await,
        1
    );
    assert_eq!(
        stack
            .count("SELECT count(*) FROM orders WHERE status = 'CANCELLED'")
            .await,
        1
    );
    // Stock is conserved: the declined order's units came back.
    let sold = stack.count("SELECT coalesce(sum(l.quantity), 0)::bigint FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status = 'CONFIRMED'").await;
    let (on_hand, held) = stock(&stack).await;
    assert_eq!(held, 0);
    assert_eq!(on_hand + sold, 10, "initial = onHand + sold");
    assert_eq!(
        stack
            .count("SELECT sum(on_hand_delta)::bigint FROM stock_movements")
            .await,
        on_hand
    );
    let captured = stack
        .count("SELECT count(*) FROM test_gateway_charges WHERE status = 'CAPTURED'")
        .await;
    assert_eq!(
        captured,
        stack
            .count("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
            .await,
        "one charge per confirmed order, none twice"
    );
    app.stop().await;
    stack.cleanup().await;
}

/// The `graphql-ws` npm client, connected to a second instance that does not run the saga,
/// receives PENDING → STOCK_HELD → PAID → CONFIRMED in order. (Needs the Node packages of
/// tests/browser, which scripts/test installs.)
#[tokio::test]
async fn the_graphql_ws_npm_client_follows_an_order_on_another_instance() {
    use mercado_resolvers::purchases::OrderStatus;
    use tokio::io::AsyncBufReadExt;
    if std::env::var("MERCADO_TEST_BROWSER").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set MERCADO_TEST_BROWSER=1 (scripts/test does) to run the Node client test"
        );
        return;
    }
    let stack = Stack::new(BusKind::Inprocess).await;
    let quiet = stack.quiet();
    let a = stack.start_with(quiet.clone()).await;
    let b = stack.start_with(quiet).await;
    let variant = a
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 1)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = a
        .place_order(&buyer, &variant, 1, "tok_approve", "npm")
        .await;
    let id = id_of(&placed, "placeOrder");

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/browser/order-status.mjs"
    );
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(format!("{}/graphql", b.base.replace("http://", "ws://")))
        .arg(&buyer)
        .arg(&id)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut received = Vec::new();
    let first: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    received.push(first["status"].as_str().unwrap().to_string());
    let saga = a.server.adapters.saga.clone();
    let uuid: uuid::Uuid = id.parse().unwrap();
    for expected in [
        OrderStatus::StockHeld,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
    ] {
        assert_eq!(saga.advance(uuid).await.unwrap(), Some(expected));
        let line: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        received.push(line["status"].as_str().unwrap().to_string());
    }
    assert_eq!(received, ["PENDING", "STOCK_HELD", "PAID", "CONFIRMED"]);
    assert!(
        child.wait().await.unwrap().success(),
        "the client saw the subscription complete"
    );
    a.stop().await;
    b.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn an_order_whose_holds_expire_ends_expired_with_its_stock_back() {
    use mercado_resolvers::purchases::OrderStatus;
    let stack = Stack::new(BusKind::Inprocess).await;
    let mut config = stack.quiet();
    config.hold_ttl_seconds = 1;
    let app = stack.start_with(config).await;
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 4)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = app
        .place_order(&buyer, &variant, 3, "tok_approve", "slow")
        .await;
    let id: uuid::Uuid = id_of(&placed, "placeOrder").parse().unwrap();
    let saga = app.server.adapters.saga.clone();
    assert_eq!(
        saga.advance(id).await.unwrap(),
        Some(OrderStatus::StockHeld)
    );
    assert_eq!(stock(&stack).await, (4, 3));
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // The runner's sweep makes it due; its next step expires it.
    assert_eq!(saga.advance_due().await.unwrap(), 1);
    let order = settled(&app, &buyer, &id.to_string()).await;
    assert_eq!(order["status"], "EXPIRED");
    assert_eq!(stock(&stack).await, (4, 0));
    app.stop().await;
    stack.cleanup().await;
}

/// Step Functions with a worker that dies holding a step: the task times out, and the runner
/// sweeps the order to its end; the execution's retried task then finds the order finished
/// and the execution still ends, with nothing done twice.
#[tokio::test]
async fn on_step_functions_a_worker_killed_mid_step_leaves_the_order_to_the_sweeper() {
    let stack = stack_on(Engine::StepFunctions, 3).await;
    // No saga worker yet: executions start (the relay), their first task waits in the queue.
    let front = stack
        .start_with(ServeConfig {
            modules: vec![Module::Api, Module::Relay],
            ..stack.config.clone()
        })
        .await;
    let variant = front
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 5)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);
    let placed = front
        .place_order(&buyer, &variant, 2, "tok_approve", "killed")
        .await;
    let id = id_of(&placed, "placeOrder");
    // The worker that took the hold task dies with it: received, never answered.
    let sqs = aws_sdk_sqs::Client::new(&mercado::adapters::aws::load().await);
    let queue = stack.config.saga.queue_url.clone().unwrap();
    let taken = sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(10)
        .visibility_timeout(600)
        .send()
        .await
        .unwrap();
    let task: Value = serde_json::from_str(taken.messages()[0].body().unwrap()).unwrap();
    assert_eq!(
        (task["step"].as_str(), task["orderId"].as_str()),
        (Some("hold"), Some(id.as_str()))
    );

    // A worker instance comes up: its sweeper finishes the order once the sweep delay passed.
    let worker = stack
        .start_with(ServeConfig {
            modules: vec![Module::Saga],
            ..stack.config.clone()
        })
        .await;
    let done = settled(&front, &buyer, &id).await;
    assert_eq!(
        statuses(&done),
        ["PENDING", "STOCK_HELD", "PAID", "CONFIRMED"]
    );
    assert_eq!(stock(&stack).await, (3, 0), "held and sold once");
    // The execution's retried task met a finished order and ended the execution.
    execution_succeeded(&stack, &id).await;
    assert_eq!(stock(&stack).await, (3, 0));
    worker.stop().await;
    front.stop().await;
    stack.cleanup().await;
}

/// Step Functions when the gateway is down, and against repeats: a payment that keeps failing
/// ends PAYMENT_FAILED with its holds released; a second start of an order's execution is
/// absorbed; replayed step messages (a step already taken, a compensation after the end)
/// change nothing.
#[tokio::test]
async fn on_step_functions_a_gateway_down_duplicate_starts_and_replayed_steps_change_nothing() {
    let stack = stack_on(Engine::StepFunctions, 120).await;
    let app = stack.start().await;
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 5)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);

    let down = app
        .place_order(&buyer, &variant, 2, "tok_unavailable", "down")
        .await;
    let down = id_of(&down, "placeOrder");
    let done = settled(&app, &buyer, &down).await;
    assert_eq!(statuses(&done), ["PENDING", "STOCK_HELD", "PAYMENT_FAILED"]);
    assert_eq!(done["reason"], "payment gateway unavailable");
    assert_eq!(stock(&stack).await, (5, 0));
    execution_succeeded(&stack, &down).await;

    let placed = app
        .place_order(&buyer, &variant, 2, "tok_approve", "fine")
        .await;
    let id = id_of(&placed, "placeOrder");
    let done = settled(&app, &buyer, &id).await;
    execution_succeeded(&stack, &id).await;
    let sdk = mercado::adapters::aws::load().await;
    let executions = mercado::adapters::stepfunctions::StepFunctions::new(
        aws_sdk_sfn::Client::new(&sdk),
        stack.config.saga.state_machine_arn.clone().unwrap(),
    );
    use mercado::workers::saga::SagaExecutions;
    executions
        .start(
            id.parse().unwrap(),
            &json!({"orderId": id, "taskTimeoutSeconds": 5}),
        )
        .await
        .expect("a second start of the same order is absorbed");

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = stack.config.saga.queue_url.clone().unwrap();
    for replay in [
        json!({"taskToken": "replayed-1", "step": "hold", "orderId": id}),
        json!({"taskToken": "replayed-2", "step": "finalize", "orderId": id}),
        json!({"taskToken": "replayed-3", "step": "compensate", "orderId": id,
               "to": "CANCELLED", "reason": "replayed", "refund": true}),
    ] {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(replay.to_string())
            .send()
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while crate::common::queue_depth(&sqs, &queue).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replays never consumed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let again = settled(&app, &buyer, &id).await;
    assert_eq!(again, done, "the replays changed nothing");
    assert_eq!(
        statuses(&again),
        ["PENDING", "STOCK_HELD", "PAID", "CONFIRMED"]
    );
    assert_eq!(stock(&stack).await, (3, 0));
    app.stop().await;
    stack.cleanup().await;
}

/// One step of a Step Functions execution, taken by the test as a worker would: the next task
/// from the step queue, run by the same handler the `saga` module runs, then deleted.
async fn take_step(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    tasks: &mercado::workers::saga::SagaTasks,
) -> String {
    use mercado::workers::consumer::MessageHandler;
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(10)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    let body = message.body().unwrap();
    tasks.handle(body.as_bytes()).await.unwrap();
    sqs.delete_message()
        .queue_url(queue)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    serde_json::from_str::<Value>(body).unwrap()["step"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Step Functions, stepped by hand: a cancellation before the hold, after it and after the
/// payment ends CANCELLED (refunded once paid) with the stock back, and a hold that expires
/// before payment ends EXPIRED; each execution ends SUCCEEDED.
#[tokio::test]
async fn on_step_functions_cancel_at_each_step_and_hold_expiry_end_as_on_the_runner() {
    let mut stack = stack_on(Engine::StepFunctions, 600).await;
    // Long enough for the cancellations on a loaded machine, short enough to wait out below.
    stack.config.hold_ttl_seconds = 6;
    // Tasks wait for the test's steps (and the wait for expiry) without timing out.
    stack.config.saga.task_timeout_seconds = 60;
    // The relay starts executions; no saga worker: the test takes each step.
    let app = stack
        .start_with(ServeConfig {
            modules: vec![Module::Api, Module::Relay],
            ..stack.config.clone()
        })
        .await;
    let sdk = mercado::adapters::aws::load().await;
    let tasks = mercado::workers::saga::SagaTasks::new(
        app.server.adapters.saga.clone(),
        Arc::new(mercado::adapters::stepfunctions::StepFunctions::new(
            aws_sdk_sfn::Client::new(&sdk),
            stack.config.saga.state_machine_arn.clone().unwrap(),
        )),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = stack.config.saga.queue_url.clone().unwrap();
    let variant = app
        .stocked_variant(&stack.token("seller", &[Role::Seller]), "MUG", 1000, 5)
        .await;
    let buyer = stack.token("buyer", &[Role::Buyer]);

    for (n, (before, expected)) in [
        (vec![], vec!["PENDING", "CANCELLED"]),
        (vec!["hold"], vec!["PENDING", "STOCK_HELD", "CANCELLED"]),
        (
            vec!["hold", "pay"],
            vec!["PENDING", "STOCK_HELD", "PAID", "CANCELLED"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let placed = app
            .place_order(&buyer, &variant, 2, "tok_approve", &format!("cancel-{n}"))
            .await;
        let id = id_of(&placed, "placeOrder");
        for step in &before {
            assert_eq!(&take_step(&sqs, &queue, &tasks).await, step);
        }
        let (_, cancelled) = app
            .graphql(
                Some(&buyer),
                "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        assert!(cancelled["errors"].is_null(), "{cancelled}");
        // The next step sees the cancellation and asks for the compensation, which ends it.
        take_step(&sqs, &queue, &tasks).await;
        assert_eq!(take_step(&sqs, &queue, &tasks).await, "compensate");
        let done = settled(&app, &buyer, &id).await;
        assert_eq!(statuses(&done), expected, "cancelled after {before:?}");
        assert_eq!(stock(&stack).await, (5, 0));
        execution_succeeded(&stack, &id).await;
    }

    let placed = app
        .place_order(&buyer, &variant, 2, "tok_approve", "expires")
        .await;
    let id = id_of(&placed, "placeOrder");
    assert_eq!(take_step(&sqs, &queue, &tasks).await, "hold");
    tokio::time::sleep(std::time::Duration::from_millis(6500)).await;
    assert_eq!(take_step(&sqs, &queue, &tasks).await, "pay");
    assert_eq!(take_step(&sqs, &queue, &tasks).await, "compensate");
    let done = settled(&app, &buyer, &id).await;
    assert_eq!(statuses(&done), ["PENDING", "STOCK_HELD", "EXPIRED"]);
    assert_eq!(stock(&stack).await, (5, 0));
    execution_succeeded(&stack, &id).await;
    app.stop().await;
    stack.cleanup().await;
}
