//! GraphiQL at `/graphiql` runs a query in headless Chromium (Debian's, driven by
//! playwright-core) while every request to a host other than localhost is blocked and fails
//! the run. `scripts/test` installs Chromium and the driver and sets MERCADO_TEST_BROWSER=1.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

mod common;

use common::Stack;
use mercado::config::BusKind;

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
