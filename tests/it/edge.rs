//! The GraphQL edge, tried as a client and as an attacker would: hostile documents are refused
//! with codes while `/healthz` keeps answering, persisted and trusted documents, rate limits,
//! WebSocket bounds, introspection on and off, and graceful shutdown of the real binary.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::common::{
    App, ServerProcess, Stack, error_code, ws_acked, ws_connect, ws_next, ws_send, ws_subscribe,
    ws_subscribed,
};
use futures::{SinkExt, StreamExt};
use mercado::app::config::BusKind;
use mercado_resolvers::{
    Role, edge::persisted::sha256_hex, fakes::documents::exponential_fragments,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn post_raw(app: &App, body: Value) -> (u16, Value) {
    let resp = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// `/healthz` polled back to back until `stop` is set: (answers, failures).
fn probe_health(app: &App, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(usize, usize)> {
    let (http, url) = (reqwest::Client::new(), format!("{}/healthz", app.base));
    tokio::spawn(async move {
        let (mut ok, mut failed) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            let answered = http
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if answered {
                ok += 1;
            } else {
                failed += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (ok, failed)
    })
}

#[tokio::test]
async fn every_hostile_document_is_refused_with_a_code_while_health_answers() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let aliases = |n: usize| -> String { (0..n).map(|i| format!("a{i}: __typename ")).collect() };
    let deep = |n: usize| format!("{}{}", "{ a ".repeat(n), "}".repeat(n));
    // (what, body, expected status, expected code, expected limit)
    let attacks: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "2^30 fragment expansion",
            json!({"query": exponential_fragments(30)}),
            400,
            "QUERY_TOO_COMPLEX",
            Some("maxComplexity"),
        ),
        (
            "10,000 aliases",
            json!({"query": format!("{{ {} }}", aliases(10_000))}),
            413,
            "DOCUMENT_TOO_LARGE",
            Some("maxDocumentBytes"),
        ),
        (
            "1,000 aliases",
            json!({"query": format!("{{ {} }}", aliases(1_000))}),
            400,
            "QUERY_TOO_COMPLEX",
            Some("maxAliases"),
        ),
        (
            "5,000 directives",
            json!({"query": format!("{{ __typename {} }}", "@skip(if: false) ".repeat(5_000))}),
            413,
            "DOCUMENT_TOO_LARGE",
            Some("maxDocumentBytes"),
        ),
        (
            "300 directives",
            json!({"query": format!("{{ __typename {} }}", "@skip(if: false) ".repeat(300))}),
            400,
            "QUERY_TOO_COMPLEX",
            Some("maxDirectives"),
        ),
        (
            "5,000 tokens",
            json!({"query": format!("{{ __typename {} }}", "@a ".repeat(2_500))}),
            400,
            "QUERY_TOO_COMPLEX",
            Some("maxTokens"),
        ),
        (
            "nesting 1,000 deep",
            json!({"query": deep(1_000)}),
            400,
            "QUERY_TOO_COMPLEX",
            Some("maxNesting"),
        ),
        (
            "fields 13 deep",
            json!({"query": deep(13)}),
            400,
            "QUERY_TOO_COMPLEX",
            Some("maxDepth"),
        ),
        (
            "over-long document",
            json!({"query": format!("{{ __typename }} #{}", "x".repeat(70_000))}),
            413,
            "DOCUMENT_TOO_LARGE",
            Some("maxDocumentBytes"),
        ),
        (
            "self-spreading fragments",
            json!({"query": "query { ...A } fragment A on Query { ...A ...A }"}),
            200,
            "GRAPHQL_VALIDATION_FAILED",
            None,
        ),
        (
            "1,000-operation batch",
            Value::Array(vec![json!({"query": "{ __typename }"}); 1_000]),
            400,
            "BATCH_TOO_LARGE",
            Some("maxBatch"),
        ),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let health = probe_health(&app, stop.clone());
    let in_flight = Arc::new(AtomicUsize::new(0));
    // Every attack three times at once, so the server is under all of them together.
    let mut sent = Vec::new();
    for round in 0..3 {
        for (what, body, status, code, limit) in &attacks {
            let (app, body, in_flight) = (&app, body.clone(), in_flight.clone());
            sent.push(async move {
                in_flight.fetch_add(1, Ordering::SeqCst);
                let (got_status, got) = post_raw(app, body).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                assert_eq!(got_status, *status, "{what} (round {round}): {got}");
                assert_eq!(error_code(&got), *code, "{what}: {got}");
                assert!(
                    got.get("data").is_none(),
                    "{what}: a request error has no data: {got}"
                );
                if let Some(limit) = limit {
                    assert_eq!(
                        got["errors"][0]["extensions"]["limit"], *limit,
                        "{what}: {got}"
                    );
                }
            });
        }
    }
    futures::future::join_all(sent).await;
    stop.store(true, Ordering::Relaxed);
    let (answered, failed) = health.await.unwrap();
    assert_eq!(failed, 0, "/healthz failed during the attack");
    assert!(answered > 0, "/healthz was probed during the attack");

    // The same document is refused on GET and over WebSocket, before it can run.
    let resp = app
        .http
        .get(format!("{}/graphql", app.base))
        .query(&[("query", exponential_fragments(30))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(&resp.json().await.unwrap()), "QUERY_TOO_COMPLEX");
    let mut socket = ws_acked(&app.base, None).await;
    ws_subscribe(&mut socket, "1", &exponential_fragments(30)).await;
    // async-graphql reports a refused operation as one `next` with errors, then `complete`.
    let refused = ws_next(&mut socket).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
    assert_eq!(ws_next(&mut socket).await["type"], "complete");

    // And the server still serves.
    let (status, ok) = app.graphql(None, "{ __typename }", json!({})).await;
    assert_eq!(
        (status, ok["data"]["__typename"].as_str()),
        (200, Some("Query"))
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn request_errors_follow_the_media_type_the_client_accepts() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let send = |accept: &'static str, query: &'static str| {
        app.http
            .post(format!("{}/graphql", app.base))
            .header("accept", accept)
            .json(&json!({"query": query}))
            .send()
    };
    // The spec's own type: request errors are 400 without `data`.
    let resp = send("application/graphql-response+json", "{ nope }")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(body.get("data").is_none(), "{body}");
    let resp = send("application/graphql-response+json", "{ __typename")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        error_code(&resp.json().await.unwrap()),
        "GRAPHQL_PARSE_FAILED"
    );
    // Legacy application/json: well-formed GraphQL responses stay 200, as before.
    let resp = send("application/json", "{ nope }").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    // Nothing acceptable: 406.
    assert_eq!(
        send("text/html", "{ __typename }").await.unwrap().status(),
        406
    );
    // A missing `query` is a bad request naming the parameter.
    let (status, body) = post_raw(&app, json!({"qeury": "{ __typename }"})).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "query");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let mut config = stack.config.clone();
    config.edge.introspection = false;
    let app = stack.start_with(config).await;
    let (_, body) = app
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "INTROSPECTION_DISABLED", "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let (_, body) = app.graphql(None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn automatic_persisted_queries_round_trip_over_get_and_post() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let query = "query Top { products(first: 1) { pageInfo { hasNextPage } } }";
    let hash = sha256_hex(query);
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let get = |extensions: Value| {
        app.http
            .get(format!("{}/graphql", app.base))
            .query(&[("extensions", extensions.to_string())])
            .send()
    };
    // Unknown hash: the client is told to send the document.
    let resp = get(extensions.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // It sends document and hash once…
    let (status, body) = post_raw(&app, json!({"query": query, "extensions": extensions})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["products"]["pageInfo"].is_object(), "{body}");
    // …then the short GET works, from this and every later client.
    let body: Value = get(extensions.clone()).await.unwrap().json().await.unwrap();
    assert!(body["data"]["products"]["pageInfo"].is_object(), "{body}");
    // A document that does not match its hash is refused.
    let (status, body) = post_raw(
        &app,
        json!({"query": "{ __typename }", "extensions": extensions}),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "PERSISTED_QUERY_HASH_MISMATCH")
    );
    // A persisted mutation still cannot run over GET.
    let mutation = "mutation { signOut }";
    let m_ext = json!({"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(mutation)}});
    post_raw(&app, json!({"query": mutation, "extensions": m_ext})).await;
    let resp = get(m_ext).await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn trusted_documents_mode_runs_only_the_manifest() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let allowed = "query Top { products(first: 1) { pageInfo { hasNextPage } } }";
    let hash = sha256_hex(allowed);
    let manifest = stack.data_dir.join("manifest.json");
    std::fs::create_dir_all(&stack.data_dir).unwrap();
    std::fs::write(&manifest, json!({ hash.clone(): allowed }).to_string()).unwrap();
    let mut config = stack.config.clone();
    config.edge.trusted_documents = Some(manifest);
    let app = stack.start_with(config).await;
    // By id (GraphQL-over-HTTP persisted documents), by APQ hash, and by full text.
    let resp = app
        .http
        .get(format!("{}/graphql", app.base))
        .query(&[("documentId", format!("sha256:{hash}"))])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body["data"]["products"].is_object(), "{body}");
    let (_, body) = post_raw(
        &app,
        json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}}),
    )
    .await;
    assert!(body["data"]["products"].is_object(), "{body}");
    let (_, body) = app.graphql(None, allowed, json!({})).await;
    assert!(body["data"]["products"].is_object(), "{body}");
    // Anything else, introspection included, is refused.
    for other in ["{ __typename }", "{ __schema { types { name } } }"] {
        let (status, body) = app.graphql(None, other, json!({})).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "DOCUMENT_NOT_TRUSTED"),
            "{other}"
        );
    }
    app.stop().await;

    // A manifest whose id is not its body's hash stops the server from starting.
    let bad = stack.data_dir.join("bad.json");
    std::fs::write(&bad, json!({ "0".repeat(64): allowed }).to_string()).unwrap();
    let mut config = stack.config.clone();
    config.edge.trusted_documents = Some(bad);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = mercado::app::server::Server::start(config, Some(listener)).await;
    assert!(refused.is_err(), "a mismatched manifest must be refused");
    stack.cleanup().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_address_and_per_user() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let mut config = stack.config.clone();
    config.edge.rate_per_address = 1;
    config.edge.address_burst = 5;
    config.edge.rate_per_user = 1;
    config.edge.user_burst = 2;
    let app = stack.start_with(config).await;
    let user = stack.token("buyer", &[Role::Buyer]);
    // The user's bucket (2) empties before the address's (5).
    for _ in 0..2 {
        let (status, _) = app.graphql(Some(&user), "{ __typename }", json!({})).await;
        assert_eq!(status, 200);
    }
    let resp = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&user)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "TOO_MANY_REQUESTS");
    // Anonymous requests from the same address have what is left of its burst, then 429.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.graphql(None, "{ __typename }", json!({})).await.0);
    }
    assert_eq!(
        statuses,
        [200, 200, 429, 429],
        "address burst is 5, 3 already spent"
    );
    // A batch costs one token per operation.
    let (status, _) = post_raw(
        &app,
        json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}]),
    )
    .await;
    assert_eq!(status, 429);
    // Health is never limited.
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn websockets_are_bounded_in_time_count_subscriptions_and_size() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let mut config = stack.config.clone();
    config.edge.ws_init_timeout_ms = 300;
    config.edge.ws_max_subscriptions = 2;
    config.edge.ws_max_connections_per_address = 3;
    config.edge.ws_max_message_bytes = 16 * 1024;
    let app = stack.start_with(config).await;

    // No connection_init: closed with 4408.
    let mut silent = ws_connect(&app.base).await;
    assert_eq!(ws_next(&mut silent).await, json!({"closed": 4408}));

    // A third subscription on one socket gets an error for its id; the first two run.
    let mut socket = ws_acked(&app.base, None).await;
    let beat = "subscription { heartbeat(intervalMs: 60000, count: 2) { seq } }";
    for id in ["1", "2", "3"] {
        ws_subscribe(&mut socket, id, beat).await;
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let msg = ws_next(&mut socket).await;
        seen.push((
            msg["id"].as_str().unwrap().to_string(),
            msg["type"].as_str().unwrap().to_string(),
        ));
        if msg["type"] == "error" {
            assert_eq!(msg["payload"][0]["extensions"]["code"], "TOO_MANY_REQUESTS");
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("1".into(), "next".into()),
            ("2".into(), "next".into()),
            ("3".into(), "error".into())
        ]
    );
    // Completing one frees its slot.
    ws_send(&mut socket, json!({"id": "1", "type": "complete"})).await;
    ws_subscribe(&mut socket, "4", beat).await;
    let next = loop {
        let msg = ws_next(&mut socket).await;
        if msg != json!({"id": "1", "type": "complete"}) {
            break msg;
        }
    };
    assert_eq!(
        (next["id"].as_str(), next["type"].as_str()),
        (Some("4"), Some("next")),
        "{next}"
    );

    // Connections per address (3): the silent one was closed, so one is open; two more fit.
    let _third = ws_connect(&app.base).await;
    let _fourth = ws_connect(&app.base).await;
    let url = format!("{}/graphql", app.base.replace("http://", "ws://"));
    let over = tokio_tungstenite::connect_async(url).await;
    match over {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 429),
        other => panic!("expected HTTP 429, got {other:?}"),
    }

    // A message over the bound closes the socket (a small ping on it is answered with pong).
    let ping =
        |pad: usize| json!({"type": "ping", "payload": {"pad": "x".repeat(pad)}}).to_string();
    socket.send(Message::text(ping(10))).await.unwrap();
    assert_eq!(ws_next(&mut socket).await["type"], "pong");
    socket.send(Message::text(ping(32 * 1024))).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Text(text))) => {
                assert!(!text.contains("pong"), "an oversized message was accepted")
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => continue,
        }
    }
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn stopping_closes_open_subscriptions_with_1001() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let mut socket = ws_subscribed(
        &app.base,
        None,
        "subscription { heartbeat(intervalMs: 60000, count: 5) { seq } }",
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "next");
    let stopping = tokio::spawn(app.stop());
    assert_eq!(ws_next(&mut socket).await, json!({"closed": 1001}));
    stopping.await.unwrap();
    stack.cleanup().await;
}

/// The real binary under SIGTERM: an in-flight request finishes, subscriptions close with
/// 1001, the process exits 0; a second signal ends a shutdown that is still waiting.
#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_a_second_signal_exits_at_once() {
    use tokio::io::AsyncWriteExt;
    let stack = Stack::new(BusKind::Inprocess).await;

    let mut config = stack.config.clone();
    config.shutdown_grace_seconds = 60;
    for second_signal in [false, true] {
        let mut server = ServerProcess::start(&stack, &config, &[]).await;
        let (base, port) = (server.base.clone(), server.port);
        let mut socket = ws_acked(&base, None).await;
        // An in-flight request: its body arrives in two halves, around the signal.
        let body = json!({"query": "{ __typename }"}).to_string();
        let (first, rest) = body.split_at(10);
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        conn.write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pid = server.pid().to_string();
        let term = || {
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
        };
        assert!(term().success());
        assert_eq!(ws_next(&mut socket).await, json!({"closed": 1001}));
        if second_signal {
            // The request is still waiting for its body; a second signal does not wait for it.
            assert!(term().success());
            let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
                .await
                .expect("the second signal ends the process");
            assert_eq!(status.code(), Some(130));
        } else {
            conn.write_all(rest.as_bytes()).await.unwrap();
            let mut answer = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut conn, &mut answer)
                .await
                .unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            assert!(answer.contains("\"__typename\":\"Query\""), "{answer}");
            let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
                .await
                .expect("the server exits once in-flight work is done");
            assert!(status.success(), "{status}");
        }
    }
    stack.cleanup().await;
}

/// Benchmark (ignored by default): what a refusal costs, and what `/healthz` latency looks like
/// while four clients send the 2^30 fragment document back to back.
///
///     scripts/test --test it bench_edge -- --ignored --nocapture
#[tokio::test]
#[ignore = "benchmark: run explicitly"]
async fn bench_edge_refusals_and_health_under_attack() {
    use std::time::Instant;

    use crate::common::percentile;
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let classes = [
        ("2^30 fragment expansion (2 KB)", exponential_fragments(30)),
        (
            "1,000 aliases (15 KB, parsed off the workers)",
            format!(
                "{{ {} }}",
                (0..1_000)
                    .map(|i| format!("a{i}: __typename "))
                    .collect::<String>()
            ),
        ),
        (
            "300 directives",
            format!("{{ __typename {} }}", "@skip(if: false) ".repeat(300)),
        ),
        (
            "60 KB document",
            format!("{{ __typename }} #{}", "x".repeat(60_000)),
        ),
    ];
    println!("| document | n | p50 | max |");
    println!("|---|---|---|---|");
    for (what, query) in &classes {
        let mut samples = Vec::new();
        for _ in 0..50 {
            let started = Instant::now();
            let (status, _) = post_raw(&app, json!({"query": query})).await;
            samples.push(started.elapsed());
            assert!(status == 400 || status == 200, "{what}: {status}");
        }
        samples.sort();
        println!(
            "| {what} | 50 | {:.2} ms | {:.2} ms |",
            percentile(&samples, 50.0).as_secs_f64() * 1e3,
            samples[samples.len() - 1].as_secs_f64() * 1e3
        );
    }
    let health = |label: &'static str, attack: bool| {
        let app = &app;
        async move {
            let stop = Arc::new(AtomicBool::new(false));
            let attackers: Vec<_> = (0..if attack { 4 } else { 0 })
                .map(|_| {
                    let (http, url, stop) = (
                        reqwest::Client::new(),
                        format!("{}/graphql", app.base),
                        stop.clone(),
                    );
                    tokio::spawn(async move {
                        let body = json!({"query": exponential_fragments(30)});
                        let mut sent = 0u32;
                        while !stop.load(Ordering::Relaxed) {
                            http.post(&url).json(&body).send().await.unwrap();
                            sent += 1;
                        }
                        sent
                    })
                })
                .collect();
            let mut samples = Vec::new();
            for _ in 0..300 {
                let started = Instant::now();
                let resp = app.get("/healthz").await;
                assert_eq!(resp.status(), 200);
                samples.push(started.elapsed());
            }
            stop.store(true, Ordering::Relaxed);
            let mut refused = 0;
            for a in attackers {
                refused += a.await.unwrap();
            }
            samples.sort();
            println!(
                "| /healthz, {label} | 300 | p50 {:.2} ms, p99 {:.2} ms | {refused} attack documents refused meanwhile |",
                percentile(&samples, 50.0).as_secs_f64() * 1e3,
                percentile(&samples, 99.0).as_secs_f64() * 1e3,
            );
        }
    };
    health("idle", false).await;
    health("4 attackers", true).await;
    app.stop().await;
    stack.cleanup().await;
}
