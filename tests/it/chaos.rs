//! The fault suite (`scripts/chaos`): real `mercado serve` processes under repeated `kill -9`,
//! DynamoDB, the bus and PostgreSQL going away, graceful shutdown with clients connected, and
//! poison and duplicates at volume. Each scenario checks what mercado promises once things
//! settle (no event lost: `reconcile --check` finds nothing; every order terminal; stock
//! conserved) and appends its figures, one JSON object, to `MERCADO_CHAOS_OUT`. Ignored by
//! `scripts/test`: `scripts/chaos` runs them one at a time (`MERCADO_CHAOS_QUICK=1`: smaller).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::{Value, json};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    process::{Child, Command},
};

use crate::common::{
    App, ServerProcess, Stack, error_code, free_port, id_of, shipping_address, ws_acked,
    ws_subscribe,
};

fn quick() -> bool {
    std::env::var("MERCADO_CHAOS_QUICK").as_deref() == Ok("1")
}

/// `full` normally, `small` with `MERCADO_CHAOS_QUICK=1`.
fn size(full: usize, small: usize) -> usize {
    if quick() { small } else { full }
}

/// Appends one scenario's outcome to `MERCADO_CHAOS_OUT` (when set) and prints it.
fn record(outcome: Value) {
    println!("chaos: {outcome}");
    crate::common::append_line("MERCADO_CHAOS_OUT", &outcome);
}

/// Until `done` holds, at most `limit`; the time it took.
async fn until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// What every scenario checks once things settle: nothing left in the outbox, every order
/// terminal, the read model equal to PostgreSQL (compared item by item, nothing repaired), and
/// stock conserved (on hand + sold = `initial` for every variant, nothing held).
async fn settled(stack: &Stack, observer: &App, initial: Option<i64>) -> Value {
    let drained = until(Duration::from_secs(120), "outbox drained and orders terminal", async || {
        stack
            .count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
            == 0
            && stack
                .count("SELECT count(*) FROM orders WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID')")
                .await
                == 0
    })
    .await;
    let reconciler = observer.server.adapters.reconciler.clone();
    let mut diffs = usize::MAX;
    let converged = until(
        Duration::from_secs(60),
        "read model equal to PostgreSQL",
        async || {
            diffs = reconciler.check_once().await.unwrap().differences.len();
            diffs == 0
        },
    )
    .await;
    let stock_drift = match initial {
        None => 0,
        Some(initial) => {
            stack
                .count_dynamic(&format!(
                    "SELECT count(*) FROM variants v WHERE v.held <> 0 OR v.on_hand + coalesce((
                     SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
                     WHERE l.variant_id = v.id AND o.status = 'CONFIRMED'), 0) <> {initial}"
                ))
                .await
        }
    };
    json!({
        "drain_ms": drained.as_millis() as u64,
        "converge_ms": converged.as_millis() as u64,
        "catalog_diffs": diffs,
        "orders_not_terminal": stack.count("SELECT count(*) FROM orders WHERE status IN ('PENDING', 'STOCK_HELD', 'PAID')").await,
        "stock_drift": stock_drift,
        "events_lost": diffs,
    })
}

/// Merges `extra` into `base` (objects).
fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// Records the scenario's outcome, stops what observed it, and fails the test if it did not
/// pass (after cleaning up, so a failure leaves nothing behind).
async fn conclude(stack: Stack, observer: App, outcome: Value, ok: bool) {
    record(with(outcome.clone(), json!({"passed": ok})));
    observer.stop().await;
    stack.cleanup().await;
    assert!(ok, "{outcome}");
}

fn passed(outcome: &Value) -> bool {
    [
        "events_lost",
        "orders_not_terminal",
        "stock_drift",
        "catalog_diffs",
    ]
    .iter()
    .all(|k| outcome[k].as_i64().unwrap_or(0) == 0)
}

const UPDATE: &str = "mutation($id: ID!, $v: Int!, $n: String!) { updateProduct(id: $id, expectedVersion: $v, input: {name: $n}) { version } }";
const PLACE: &str = "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }";

/// Clients creating `products` products (each with one variant of `stock` units), updating
/// each once, and placing `orders` orders (approve, decline, transient) against `server`,
/// `workers` at a time. Answers the counts of answers by code.
async fn load(
    stack: &Stack,
    server: &ServerProcess,
    products: usize,
    orders: usize,
    stock: i32,
) -> Value {
    let seller = stack.token("chaos-seller", &[Role::Seller]);
    let buyer = stack.token("chaos-buyer", &[Role::Buyer]);
    type Codes = Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>;
    let codes: Codes = Arc::default();
    let count = |codes: &Codes, body: &Value| {
        let code = body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("OK")
            .to_string();
        *codes.lock().unwrap().entry(code).or_insert(0) += 1;
    };
    let variants: Vec<String> = futures::stream::iter(0..products)
        .map(|n| {
            let (seller, codes) = (seller.clone(), codes.clone());
            async move {
                // Retried until it lands: a killed server answers nothing for a moment.
                loop {
                    let created = server
                        .graphql(
                            Some(&seller),
                            "mutation($i: CreateProductInput!) { createProduct(input: $i) { id variants { id } } }",
                            json!({"i": {"name": format!("Chaos {n}"), "category": "chaos",
                                         "variants": [{"sku": format!("CH-{n}"), "price": {"amount": 500, "currency": "EUR"}, "onHand": stock}]}}),
                        )
                        .await;
                    count(&codes, &created);
                    if let Some(v) = created["data"]["createProduct"]["variants"][0]["id"].as_str() {
                        let id = id_of(&created, "createProduct");
                        loop {
                            let renamed = server
                                .graphql(Some(&seller), UPDATE, json!({"id": id, "v": 1, "n": format!("Chaos {n} renamed")}))
                                .await;
                            count(&codes, &renamed);
                            if renamed["data"].is_object() || error_code(&renamed) == "CONFLICT" {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        return v.to_string();
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    futures::stream::iter(0..orders)
        .map(|n| {
            let (buyer, codes, variant) = (buyer.clone(), codes.clone(), variants[n % variants.len()].clone());
            let token = match n % 10 {
                0 | 1 => "tok_decline",
                2 => "tok_transient",
                _ => "tok_approve",
            };
            async move {
                let input = json!({"i": {"items": [{"variantId": variant, "quantity": 1}], "paymentToken": token,
                                         "idempotencyKey": format!("chaos-{n}"), "shippingAddress": shipping_address()}});
                // The same key on a retry: a lost answer never makes a second order.
                loop {
                    let placed = server.graphql(Some(&buyer), PLACE, input.clone()).await;
                    count(&codes, &placed);
                    if placed["data"].is_object() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    let codes = codes.lock().unwrap().clone();
    json!(codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault suite: scripts/chaos"]
async fn chaos_repeated_kills_lose_nothing() {
    let (products, orders, kills) = (size(1000, 150), size(500, 100), size(10, 4));
    let stack = Stack::new(BusKind::Nats).await;
    let observer = stack.start_with(stack.quiet()).await;
    // Clients talk to an instance without workers; the one running relay, consumers and
    // sagas is killed again and again.
    let api = ServerProcess::start(&stack, &stack.quiet(), &[]).await;
    let mut workers = ServerProcess::start(&stack, &stack.config, &[]).await;
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicU64::new(0));
    let killer = {
        let (stop, killed) = (stop.clone(), killed.clone());
        async move {
            for n in 0..kills {
                if stop.load(Ordering::Relaxed) && n > 0 {
                    break;
                }
                let pause = 300 + (n as u64 * 7919) % 1500;
                tokio::time::sleep(Duration::from_millis(pause)).await;
                workers.kill().await;
                killed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
                workers.restart().await;
            }
            workers
        }
    };
    let (codes, workers) = tokio::join!(
        async {
            let codes = load(&stack, &api, products, orders, 5).await;
            stop.store(true, Ordering::Relaxed);
            codes
        },
        killer
    );
    let loaded_ms = started.elapsed().as_millis() as u64;
    let outcome = settled(&stack, &observer, Some(5)).await;
    let outcome = with(
        outcome,
        json!({
            "scenario": "repeated kills",
            "products": products, "orders": orders,
            "kills": killed.load(Ordering::Relaxed),
            "load_ms": loaded_ms,
            "answers": codes,
            "orders_by_status": orders_by_status(&stack).await,
        }),
    );
    let ok = passed(&outcome);
    drop(workers);
    drop(api);
    conclude(stack, observer, outcome, ok).await;
}

async fn orders_by_status(stack: &Stack) -> Value {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")
            .fetch_all(&mut stack.pg().await)
            .await
            .unwrap();
    json!(
        rows.into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    )
}

/// A TCP proxy that can be switched off: connections are refused (closed at once) and open
/// ones cut, as when a service goes away; switched on, it forwards again.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(AtomicU64::new(0));
        let (flag, gen_) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::Relaxed) {
                    let _ = inbound.shutdown().await;
                    continue;
                }
                let (target, gen_) = (target.clone(), gen_.clone());
                let born = gen_.load(Ordering::Relaxed);
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let cut = async {
                        while gen_.load(Ordering::Relaxed) == born {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, () = cut => {} }
                });
            }
        });
        Self {
            port,
            up,
            generation,
        }
    }

    fn down(&self) {
        self.up.store(false, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn up(&self) {
        self.up.store(true, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault suite: scripts/chaos"]
async fn chaos_dynamodb_away_fails_fast_then_converges() {
    let away = Duration::from_secs(size(30, 10) as u64);
    let stack = Stack::new(BusKind::Inprocess).await;
    let observer = stack.start_with(stack.quiet()).await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let target = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let proxy = Proxy::start(target).await;
    let server = ServerProcess::start(
        &stack,
        &stack.config,
        &[(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", proxy.port),
        )],
    )
    .await;
    let seller = stack.token("chaos-seller", &[Role::Seller]);
    const READ: &str = "query($id: ID!) { product(id: $id) { id } }";
    let first = server.create(&seller, "Before").await;
    let before = id_of(&first, "createProduct");
    until(
        Duration::from_secs(10),
        "first product in the catalog",
        async || {
            server.graphql(None, READ, json!({"id": before})).await["data"]["product"].is_object()
        },
    )
    .await;

    proxy.down();
    let outage = Instant::now();
    let (mut committed, mut refused, mut slowest) = (0u64, 0u64, Duration::ZERO);
    let mut ready_503 = false;
    let mut written = Vec::new();
    while outage.elapsed() < away {
        let created = server.create(&seller, "During").await;
        if created["data"]["createProduct"].is_object() {
            committed += 1;
            written.push(id_of(&created, "createProduct"));
        }
        let asked = Instant::now();
        let read = server.graphql(None, READ, json!({"id": before})).await;
        slowest = slowest.max(asked.elapsed());
        if error_code(&read) == "UNAVAILABLE" {
            refused += 1;
        }
        let ready = reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap();
        ready_503 |= ready.status() == 503;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    proxy.up();
    let back = Instant::now();
    let last = written.last().cloned().unwrap_or(before.clone());
    let recovered = until(
        Duration::from_secs(60),
        "writes made during the outage in the catalog",
        async || {
            server.graphql(None, READ, json!({"id": last})).await["data"]["product"].is_object()
        },
    )
    .await;
    let outcome = settled(&stack, &observer, None).await;
    let outcome = with(
        outcome,
        json!({
            "scenario": "dynamodb away",
            "away_s": away.as_secs(),
            "writes_committed_while_away": committed,
            "reads_unavailable": refused,
            "slowest_read_ms": slowest.as_millis() as u64,
            "readyz_503": ready_503,
            "recovery_ms": recovered.as_millis() as u64,
            "recovered_after_ms": back.elapsed().as_millis() as u64,
        }),
    );
    let ok = passed(&outcome)
        && committed > 0
        && refused > 0
        && slowest <= Duration::from_millis(2500)
        && ready_503;
    drop(server);
    conclude(stack, observer, outcome, ok).await;
}

/// A private JetStream server with its store on disk, so it can be stopped and started.
struct Nats {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Nats {
    async fn start(dir: PathBuf) -> Self {
        let mut nats = Self {
            port: free_port(),
            dir,
            child: None,
        };
        nats.resume().await;
        nats
    }

    async fn resume(&mut self) {
        let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("nats-server");
        let child = Command::new(bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        until(
            Duration::from_secs(10),
            "nats-server listening",
            async || TcpStream::connect(("127.0.0.1", self.port)).await.is_ok(),
        )
        .await;
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault suite: scripts/chaos"]
async fn chaos_bus_away_backlog_grows_then_drains() {
    let away = Duration::from_secs(size(30, 10) as u64);
    let mut stack = Stack::new(BusKind::Nats).await;
    let mut nats = Nats::start(stack.data_dir.join("nats")).await;
    stack.config.nats_url = format!("nats://127.0.0.1:{}", nats.port);
    let observer = stack.start_with(stack.quiet()).await;
    let server = ServerProcess::start(&stack, &stack.config, &[]).await;
    let seller = stack.token("chaos-seller", &[Role::Seller]);

    nats.stop().await;
    let outage = Instant::now();
    let (mut committed, mut peak) = (0u64, 0i64);
    let mut ids = Vec::new();
    while outage.elapsed() < away {
        let created = server.create(&seller, "Queued").await;
        if created["data"]["createProduct"].is_object() {
            committed += 1;
            let id = id_of(&created, "createProduct");
            // A second version of each, so order per product matters.
            server
                .graphql(
                    Some(&seller),
                    UPDATE,
                    json!({"id": id, "v": 1, "n": "Queued twice"}),
                )
                .await;
            ids.push(id);
        }
        peak = peak.max(
            stack
                .count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .await,
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    nats.resume().await;
    let drained = until(
        Duration::from_secs(90),
        "outbox backlog drained",
        async || {
            stack
                .count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .await
                == 0
        },
    )
    .await;
    let outcome = settled(&stack, &observer, None).await;
    let outcome = with(
        outcome,
        json!({
            "scenario": "bus away",
            "away_s": away.as_secs(),
            "writes_committed_while_away": committed,
            "backlog_peak": peak,
            "backlog_drain_ms": drained.as_millis() as u64,
        }),
    );
    let ok = passed(&outcome) && committed > 0 && peak > 0;
    drop(server);
    nats.stop().await;
    conclude(stack, observer, outcome, ok).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault suite: scripts/chaos"]
async fn chaos_graceful_shutdown_with_clients_connected() {
    let subscribers = size(200, 50);
    let stack = Stack::new(BusKind::Inprocess).await;
    let observer = stack.start_with(stack.quiet()).await;
    let mut config = stack.config.clone();
    config.shutdown_grace_seconds = 10;
    let mut leaving = ServerProcess::start(&stack, &config, &[]).await;
    let staying = ServerProcess::start(&stack, &config, &[]).await;
    let seller = stack.token("chaos-seller", &[Role::Seller]);
    let buyer = stack.token("chaos-buyer", &[Role::Buyer]);
    // Orders whose sagas take a while (the transient gateway fails twice first).
    let created = leaving
        .graphql(
            Some(&seller),
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { id consistencyToken variants { id } } }",
            json!({"i": {"name": "Shutdown", "category": "chaos", "variants": [{"sku": "SD-1", "price": {"amount": 500, "currency": "EUR"}, "onHand": 100}]}}),
        )
        .await;
    let product = id_of(&created, "createProduct");
    // A version that will never exist: a read with it waits the whole read wait (2 s), so it
    // is surely in flight when the signal comes.
    let mut never = mercado_resolvers::catalog::live::decode_token(
        created["data"]["createProduct"]["consistencyToken"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    never[0].version = 99;
    let never = mercado_resolvers::catalog::live::encode_token(&never);
    let variant = created["data"]["createProduct"]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 0..20 {
        leaving
            .graphql(Some(&buyer), PLACE, json!({"i": {"items": [{"variantId": variant, "quantity": 1}], "paymentToken": "tok_transient",
                                                       "idempotencyKey": format!("sd-{n}"), "shippingAddress": shipping_address()}}))
            .await;
    }
    let mut sockets = Vec::new();
    for n in 0..subscribers {
        let mut socket = ws_acked(&leaving.base, None).await;
        ws_subscribe(
            &mut socket,
            &n.to_string(),
            "subscription { heartbeat(intervalMs: 1000, count: 1000) { seq } }",
        )
        .await;
        sockets.push(socket);
    }
    // Requests in flight when the signal comes.
    let in_flight: Vec<_> = (0..20)
        .map(|_| {
            let (base, product, never) = (leaving.base.clone(), product.clone(), never.clone());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{base}/graphql"))
                    .json(&json!({"query": "query($id: ID!, $c: [String!]) { product(id: $id, consistency: $c) { id } }",
                                  "variables": {"id": product, "c": [never]}}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (exit_after, status) = leaving.terminate().await;
    let mut completed = 0;
    for request in in_flight {
        if let Ok(Ok(200)) = request.await {
            completed += 1;
        }
    }
    let mut closed_1001 = 0;
    for mut socket in sockets {
        let deadline = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(message)) = socket.next().await {
                if let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) = message {
                    return u16::from(frame.code) == 1001;
                }
            }
            false
        });
        if deadline.await.unwrap_or(false) {
            closed_1001 += 1;
        }
        let _ = socket.close(None).await;
    }
    let outcome = settled(&stack, &observer, None).await;
    let outcome = with(
        outcome,
        json!({
            "scenario": "graceful shutdown",
            "subscribers": subscribers,
            "closed_1001": closed_1001,
            "in_flight_completed": completed,
            "exit_ms": exit_after.as_millis() as u64,
            "exit_code": status.code(),
            "orders_by_status": orders_by_status(&stack).await,
        }),
    );
    let ok = passed(&outcome)
        && closed_1001 == subscribers
        && completed == 20
        && status.success()
        && exit_after <= Duration::from_secs(12);
    drop(staying);
    conclude(stack, observer, outcome, ok).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault suite: scripts/chaos"]
async fn chaos_poison_and_duplicates_at_volume() {
    let products = size(300, 50);
    let stack = Stack::new(BusKind::Eventbridge).await;
    let app = stack.start().await;
    let seller = stack.token("chaos-seller", &[Role::Seller]);
    for n in 0..products {
        let id = app
            .create_product(&seller, &format!("Dup {n}"), "chaos")
            .await;
        app.graphql(
            Some(&seller),
            UPDATE,
            json!({"id": id, "v": 1, "n": format!("Dup {n} b")}),
        )
        .await;
    }
    let sdk = mercado::adapters::aws::load().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = stack.config.aws.queue_url.clone().unwrap();
    // Every event again, newest first, then shuffled, plus malformed messages among them.
    let mut events = crate::catalog_sync::all_events(&stack).await;
    events.reverse();
    let mut replay = events.clone();
    replay.extend(
        events
            .iter()
            .cloned()
            .enumerate()
            .filter(|(i, _)| i % 3 != 1)
            .map(|(_, e)| e),
    );
    let duplicates = replay.len();
    let c = &app.server.adapters;
    // As the relay does: what the bus did not take is sent again (moto is slow under load).
    for chunk in replay.chunks(10) {
        let mut sent = false;
        for _ in 0..5 {
            if c.publisher.publish(chunk).await.iter().all(Result::is_ok) {
                sent = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(sent, "the bus refused a replayed batch five times");
    }
    let poison = size(20, 5);
    for n in 0..poison {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(format!("{{not json {n}"))
            .send()
            .await
            .unwrap();
    }
    let sentinel = app.create_product(&seller, "Sentinel", "chaos").await;
    app.wait_for_product(&sentinel, |p| !p.is_null()).await;
    let dlq = format!("{queue}-dlq");
    let mut dead = 0;
    let dead_ms = until(
        Duration::from_secs(120),
        "poison in the dead-letter queue",
        async || {
            dead = crate::common::queue_depth(&sqs, &dlq).await;
            dead >= poison
        },
    )
    .await;
    let outcome = settled(&stack, &app, None).await;
    let outcome = with(
        outcome,
        json!({
            "scenario": "poison and duplicates",
            "duplicate_deliveries": duplicates,
            "poison_messages": poison,
            "dead_lettered": dead,
            "dead_letter_ms": dead_ms.as_millis() as u64,
        }),
    );
    let ok = passed(&outcome) && dead >= poison;
    conclude(stack, app, outcome, ok).await;
}

/// Restarts PostgreSQL with the command `scripts/chaos` exports (its own private cluster).
async fn restart_postgres() -> Duration {
    let command = std::env::var("MERCADO_CHAOS_PG_RESTART").unwrap_or_default();
    assert!(
        !command.is_empty(),
        "MERCADO_CHAOS_PG_RESTART is not set: run this scenario through scripts/chaos"
    );
    let started = Instant::now();
    let status = Command::new("bash")
        .args(["-c", &command])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "restarting PostgreSQL failed: {status}");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault suite: scripts/chaos"]
async fn chaos_postgres_restart_recovers_pools_and_listeners() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let observer = stack.start_with(stack.quiet()).await;
    // Clients and subscriptions on an instance without workers; the workers' instance relays
    // only on NOTIFY here (its polling fallback is 10 s), so a lost LISTEN would show.
    let api = ServerProcess::start(&stack, &stack.quiet(), &[]).await;
    let mut workers = ServerProcess::start(
        &stack,
        &stack.config,
        &[("MERCADO_RELAY_POLL_MS", "10000".into())],
    )
    .await;
    let seller = stack.token("chaos-seller", &[Role::Seller]);
    let buyer = stack.token("chaos-buyer", &[Role::Buyer]);
    let created = api
        .graphql(
            Some(&seller),
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { variants { id } } }",
            json!({"i": {"name": "Restart", "category": "chaos", "variants": [{"sku": "PGR-1", "price": {"amount": 500, "currency": "EUR"}, "onHand": 10}]}}),
        )
        .await;
    let variant = created["data"]["createProduct"]["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // An order whose saga waits for the workers, followed from before the restart.
    workers.kill().await;
    let placed = api
        .graphql(Some(&buyer), PLACE, json!({"i": {"items": [{"variantId": variant, "quantity": 1}], "paymentToken": "tok_approve",
                                                "idempotencyKey": "pg-restart", "shippingAddress": shipping_address()}}))
        .await;
    let order = id_of(&placed, "placeOrder");
    let mut socket = ws_acked(&api.base, Some(&buyer)).await;
    ws_subscribe(
        &mut socket,
        "1",
        &format!("subscription {{ orderStatus(orderId: \"{order}\") {{ status }} }}"),
    )
    .await;
    let first = crate::common::ws_next(&mut socket).await;
    assert_eq!(
        first["payload"]["data"]["orderStatus"]["status"], "PENDING",
        "{first}"
    );

    // Requests keep coming while PostgreSQL restarts.
    let stop = AtomicBool::new(false);
    let traffic = async {
        let mut codes = std::collections::BTreeMap::<String, u64>::new();
        while !stop.load(Ordering::Relaxed) {
            let answer = api.create(&seller, "During restart").await;
            let code = answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK")
                .to_string();
            *codes.entry(code).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        codes
    };
    let restarting = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let restart = restart_postgres().await;
        let back = Instant::now();
        let recovered = until(
            Duration::from_secs(30),
            "requests succeed again",
            async || api.create(&seller, "After").await["data"]["createProduct"].is_object(),
        )
        .await;
        stop.store(true, Ordering::Relaxed);
        (restart, back, recovered)
    };
    let (codes, (restart, back, recovered)) = tokio::join!(traffic, restarting);

    // The workers come back; the subscription opened before the restart sees the rest.
    workers.restart().await;
    let mut seen = vec!["PENDING".to_string()];
    let followed = tokio::time::timeout(Duration::from_secs(30), async {
        while seen.last().map(String::as_str) != Some("CONFIRMED") {
            let next = crate::common::ws_next(&mut socket).await;
            match next["payload"]["data"]["orderStatus"]["status"].as_str() {
                Some(status) => seen.push(status.to_string()),
                None => panic!("the subscription ended without the order's end: {next}"),
            }
        }
    })
    .await
    .is_ok();

    // And again with the workers running: their LISTEN must come back, or the relay would
    // wait for its 10 s poll.
    restart_postgres().await;
    until(
        Duration::from_secs(30),
        "requests succeed again",
        async || {
            api.graphql(None, "{ __typename }", json!({})).await["data"].is_object()
                && stack.count("SELECT 1::bigint").await == 1
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let late = api.create(&seller, "Relayed").await;
    let late = id_of(&late, "createProduct");
    let relayed = until(
        Duration::from_secs(30),
        "a write after the restart reaches the catalog",
        async || {
            api.graphql(
                None,
                "query($id: ID!) { product(id: $id) { id } }",
                json!({"id": late}),
            )
            .await["data"]["product"]
                .is_object()
        },
    )
    .await;

    let outcome = settled(&stack, &observer, None).await;
    let outcome = with(
        outcome,
        json!({
            "scenario": "postgres restart",
            "restart_ms": restart.as_millis() as u64,
            "answers_during_restart": codes,
            "requests_recovered_ms": recovered.as_millis() as u64,
            "recovered_after_ms": back.elapsed().as_millis() as u64,
            "subscription_saw": seen,
            "relay_lag_after_restart_ms": relayed.as_millis() as u64,
        }),
    );
    let ok = passed(&outcome) && followed && relayed < Duration::from_secs(5);
    drop(workers);
    drop(api);
    conclude(stack, observer, outcome, ok).await;
}
