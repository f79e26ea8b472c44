//! Traces and metrics as an operator's tools see them: a `mercado serve` process exports
//! OTLP/HTTP (JSON) to a small receiver started here, and `/metrics` is scraped like Prometheus
//! would. One trace must run from `createProduct` through the relay and the bus to the
//! projector's DynamoDB write, and from `placeOrder` through every saga step.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::{Value, json};

use crate::common::{ServerProcess, Stack, shipping_address, ws_next, ws_subscribed};

/// One exported span, flattened.
#[derive(Debug, Clone)]
struct Span {
    trace: String,
    id: String,
    parent: String,
    name: String,
    attributes: HashMap<String, String>,
}

type Received = Arc<Mutex<Vec<Span>>>;

/// An OTLP/HTTP receiver (`POST /v1/traces`, JSON encoding) keeping every span it is sent.
async fn receiver() -> (String, Received) {
    async fn traces(State(spans): State<Received>, body: Bytes) -> &'static str {
        let request: Value = serde_json::from_slice(&body).unwrap();
        let mut kept = spans.lock().unwrap();
        for resource in request["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                    kept.push(Span {
                        trace: text(&span["traceId"]),
                        id: text(&span["spanId"]),
                        parent: text(&span["parentSpanId"]),
                        name: text(&span["name"]),
                        attributes: span["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| {
                                let v = &a["value"];
                                let value = v["stringValue"]
                                    .as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string());
                                (text(&a["key"]), value)
                            })
                            .collect(),
                    });
                }
            }
        }
        "{}"
    }
    let spans: Received = Arc::default();
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, spans)
}

/// The spans of the trace that holds a span named `root`, once `complete` holds for them
/// (spans arrive in batches, the bus's in its own time): 30 s at most.
async fn trace_of(spans: &Received, root: &str, complete: impl Fn(&[Span]) -> bool) -> Vec<Span> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let all = spans.lock().unwrap().clone();
        if let Some(trace) = all.iter().find(|s| s.name == root).map(|s| s.trace.clone()) {
            let members: Vec<Span> = all.into_iter().filter(|s| s.trace == trace).collect();
            if complete(&members) {
                return members;
            }
            if tokio::time::Instant::now() > deadline {
                let names: Vec<_> = members.iter().map(|s| s.name.as_str()).collect();
                panic!("the trace of {root} never completed; it holds {names:?}");
            }
        } else {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no span named {root} among {:?}",
                all.iter().map(|s| s.name.as_str()).collect::<HashSet<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has(spans: &[Span], name: &str) -> bool {
    spans.iter().any(|s| s.name == name)
}

/// The names of `span`'s ancestors within `spans`, nearest first, up to the first one missing.
fn ancestors<'a>(spans: &'a [Span], span: &Span) -> Vec<&'a str> {
    let mut names = Vec::new();
    let mut parent = span.parent.as_str();
    while let Some(found) = spans.iter().find(|s| s.id == parent) {
        names.push(found.name.as_str());
        parent = found.parent.as_str();
    }
    names
}

/// Whether `names` holds each of `wanted`, in that order (others may come between).
fn in_order(names: &[&str], wanted: &[&str]) -> bool {
    let mut rest = names.iter();
    wanted.iter().all(|w| rest.any(|n| n == w))
}

/// Whether `span` descends from the span named `ancestor` (within `spans`).
fn under(spans: &[Span], span: &Span, ancestor: &str) -> bool {
    let mut current = span;
    loop {
        let Some(parent) = spans.iter().find(|s| s.id == current.parent) else {
            return false;
        };
        if parent.name == ancestor {
            return true;
        }
        current = parent;
    }
}

/// The value of the sample `series` (name and labels exactly as exported), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn one_trace_runs_from_each_mutation_through_the_bus_and_the_saga_and_metrics_count_it() {
    let stack = Stack::new(BusKind::Eventbridge).await;
    let (collector, spans) = receiver().await;
    let server = ServerProcess::start(
        &stack,
        &stack.config,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
            ("OTEL_SERVICE_NAME", "mercado-under-test".into()),
            ("MERCADO_RATE_LIMIT_PER_USER", "1".into()),
            ("MERCADO_RATE_LIMIT_USER_BURST", "3".into()),
        ],
    )
    .await;
    let seller = stack.token("seller", &[Role::Seller]);
    let buyer = stack.token("buyer", &[Role::Buyer]);

    // createProduct → outbox → relay → EventBridge → SQS → projector → DynamoDB.
    let created = server
        .graphql(
            Some(&seller),
            "mutation TracedCreate($i: CreateProductInput!) { createProduct(input: $i) { id variants { id } } }",
            json!({"i": {"name": "Traced lamp", "category": "lighting",
                   "variants": [{"sku": "TRACED", "price": {"amount": 900, "currency": "EUR"}, "onHand": 5}]}}),
        )
        .await;
    let variant = created["data"]["createProduct"]["variants"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    // The projector's DynamoDB write descends from the projector's span, which descends from
    // the relay's (across the bus), which descends from the mutation's.
    let path = [
        "project catalog inventory.product.upserted",
        "publish inventory.product.upserted",
        "mutation TracedCreate",
    ];
    let trace = trace_of(&spans, "mutation TracedCreate", |t| {
        t.iter().any(|s| {
            s.attributes
                .get("rpc.service")
                .is_some_and(|v| v == "DynamoDB")
                && in_order(&ancestors(t, s), &path)
        })
    })
    .await;
    let mutation = trace
        .iter()
        .find(|s| s.name == "mutation TracedCreate")
        .unwrap();
    assert_eq!(mutation.attributes["graphql.operation.type"], "mutation");
    assert_eq!(mutation.attributes["mercado.outcome"], "ok");
    assert!(
        trace.iter().any(|s| s
            .attributes
            .get("db.system.name")
            .is_some_and(|v| v == "postgresql")
            && under(&trace, s, "mutation TracedCreate")),
        "the mutation's PostgreSQL write is in its trace: {trace:#?}"
    );

    // placeOrder → every saga step, in the trace of the mutation that placed the order.
    let placed = server
        .graphql(
            Some(&buyer),
            "mutation TracedBuy($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
            json!({"i": {"items": [{"variantId": variant, "quantity": 2}], "paymentToken": "tok_approve",
                   "idempotencyKey": "traced", "shippingAddress": shipping_address()}}),
        )
        .await;
    assert!(placed["data"]["placeOrder"]["id"].is_string(), "{placed}");
    // A subscription that outlives the scrape below.
    let mut socket = ws_subscribed(
        &server.base,
        Some(&buyer),
        "subscription { heartbeat(intervalMs: 60000, count: 2) { seq } }",
    )
    .await;
    assert!(ws_next(&mut socket).await["payload"]["data"]["heartbeat"].is_object());
    let steps = ["saga PENDING", "saga STOCK_HELD", "saga PAID"];
    let trace = trace_of(&spans, "mutation TracedBuy", |t| {
        steps.iter().all(|s| has(t, s))
    })
    .await;
    for step in steps {
        let span = trace.iter().find(|s| s.name == step).unwrap();
        assert!(under(&trace, span, "mutation TracedBuy"), "{step}");
    }
    let paid = trace.iter().find(|s| s.name == "saga PAID").unwrap();
    assert_eq!(paid.attributes["saga.outcome"], "CONFIRMED");

    // A document that cannot run is an error by its code.
    let invalid = server
        .graphql(None, "query Invalid { noSuchField }", json!({}))
        .await;
    let code = invalid["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    // A burst over the per-user limit is refused, and counted.
    let limited = stack.token("hasty", &[Role::Buyer]);
    for _ in 0..6 {
        server
            .graphql(Some(&limited), "{ __typename }", json!({}))
            .await;
    }

    // /metrics, as Prometheus scrapes it.
    let response = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    let at_least = |series: &str, floor: f64| {
        let value = sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert!(value >= floor, "{series} = {value}, expected ≥ {floor}");
    };
    at_least(
        r#"mercado_graphql_requests_total{operation="TracedCreate",type="mutation",outcome="ok"}"#,
        1.0,
    );
    at_least(
        r#"mercado_graphql_request_duration_seconds_count{operation="TracedBuy",type="mutation",outcome="ok"}"#,
        1.0,
    );
    at_least(
        &format!(r#"mercado_graphql_errors_total{{code="{code}"}}"#),
        1.0,
    );
    at_least(
        &format!(
            r#"mercado_graphql_requests_total{{operation="Invalid",type="query",outcome="{code}"}}"#
        ),
        1.0,
    );
    at_least("mercado_rate_limited_total", 1.0);
    at_least("mercado_outbox_published_total", 2.0);
    at_least("mercado_outbox_publish_failures_total", 0.0);
    at_least("mercado_outbox_backlog", 0.0);
    at_least("mercado_outbox_oldest_age_seconds", 0.0);
    at_least(
        r#"mercado_projection_lag_seconds_count{model="catalog"}"#,
        1.0,
    );
    at_least(
        r#"mercado_consumer_messages_total{consumer="projector",outcome="received"}"#,
        1.0,
    );
    at_least(
        r#"mercado_consumer_messages_total{consumer="projector",outcome="acked"}"#,
        1.0,
    );
    at_least(r#"mercado_dead_letter_messages{queue="projector"}"#, 0.0);
    at_least(r#"mercado_orders{status="PENDING"}"#, 0.0);
    at_least(
        r#"mercado_saga_step_duration_seconds_count{step="PAID",outcome="CONFIRMED"}"#,
        1.0,
    );
    at_least("mercado_saga_oldest_active_age_seconds", 0.0);
    at_least("mercado_websockets_open", 1.0);
    at_least("mercado_subscriptions_active", 1.0);
    at_least(r#"mercado_db_pool_connections{state="max"}"#, 1.0);
    at_least("mercado_signin_throttled_total", 0.0);
    assert!(text.contains("mercado_build_info{version="), "{text}");
    // The projection lag is a commit-to-applied time: seconds, not hours.
    let lag_sum = sample(
        &text,
        r#"mercado_projection_lag_seconds_sum{model="catalog"}"#,
    )
    .unwrap();
    assert!(lag_sum > 0.0 && lag_sum < 60.0, "lag sum {lag_sum}");
    drop(socket.close(None).await);

    // Every series the shipped dashboard and alerts read is one mercado exports.
    let exported: HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/observability");
    let mut referenced = HashSet::new();
    for file in ["alerts.yml", "grafana-dashboard.json"] {
        let content = std::fs::read_to_string(root.join(file)).unwrap();
        for word in content.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("mercado_") {
                let family = ["_total", "_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| word.strip_suffix(suffix))
                    .unwrap_or(word);
                referenced.insert(family.to_string());
            }
        }
    }
    assert!(referenced.len() > 10, "{referenced:?}");
    let unknown: Vec<_> = referenced
        .iter()
        .filter(|m| !exported.contains(m.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "dashboards read series mercado does not export: {unknown:?}"
    );
    stack.cleanup().await;
}
