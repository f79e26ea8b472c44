//! The API as its clients' own tools see it. GraphiQL at `/graphiql` in headless Chromium
//! (Debian's, driven by playwright-core) loads the schema (its Docs explorer lists `Query`'s
//! fields, autocompletion offers field names) and runs a query while every request to a host
//! other than localhost is blocked and fails the run; graphql-js introspection rebuilds the
//! committed schema; graphql-http's audit finds the server compliant with GraphQL over HTTP.
//! `scripts/test` installs Chromium and the npm packages and sets MERCADO_TEST_BROWSER=1.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use crate::common::{Stack, node_script};
use mercado::app::config::BusKind;

#[tokio::test]
async fn graphiql_runs_a_query_with_only_localhost_reachable() {
    if std::env::var("MERCADO_TEST_BROWSER").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set MERCADO_TEST_BROWSER=1 (scripts/test does) to run the browser test"
        );
        return;
    }
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/graphiql.mjs");
    let output = tokio::process::Command::new("node")
        .arg(script)
        .arg(&app.base)
        .env(
            "GRAPHIQL_QUERY",
            "{ products(first: 1) { pageInfo { hasNextPage } } }",
        )
        .env("GRAPHIQL_EXPECT", "hasNextPage")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "graphiql.mjs failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn graphql_js_introspection_rebuilds_the_committed_schema() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/mercado.graphql");
    let out = node_script("introspection.mjs", &[&app.base, schema]).await;
    assert!(out.contains("PASS"), "{out}");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn the_graphql_over_http_audit_passes_every_check() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let out = node_script("http-audit.mjs", &[&app.base]).await;
    let counts: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(
        counts,
        serde_json::json!({"ok": 61, "notice": 0, "warn": 0, "error": 0}),
        "{out}"
    );
    app.stop().await;
    stack.cleanup().await;
}
