//! Benchmark (ignored by default; `scripts/bench` runs it in release): `createProduct` through
//! HTTP and GraphQL against `pgbench` running the same statements (product, variant, the
//! document read back, outbox) in one transaction each, at the same concurrency, on the same
//! database. The server runs no workers, so both sides pay only for the write.
//!
//!     scripts/test --test it bench_writes -- --ignored --nocapture

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark here

use std::{sync::Arc, time::Instant};

use mercado::app::config::BusKind;
use mercado_resolvers::Role;
use serde_json::json;

use crate::common::{Stack, bench_record, bench_size};

const CONNECTIONS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn create_product_against_pgbench() {
    let products = bench_size(2_000, 400);
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = Arc::new(stack.start_with(stack.quiet()).await);
    let seller = stack.token("seller", &[Role::Seller]);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let (app, seller) = (app.clone(), seller.clone());
            tokio::spawn(async move {
                for n in (c..products).step_by(CONNECTIONS) {
                    let (_, created) = app
                        .graphql(
                            Some(&seller),
                            "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
                            json!({"i": {"name": format!("Written {n}"), "category": "bench",
                                "variants": [{"sku": format!("W-{n}"), "price": {"amount": 1000, "currency": "EUR"}, "onHand": 0}]}}),
                        )
                        .await;
                    assert!(created["errors"].is_null(), "{created}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let graphql_per_s = products as f64 / started.elapsed().as_secs_f64();

    // The same statements, with a payload of the size mercado wrote.
    let mut pg = stack.pg().await;
    let payload: String = sqlx::query_scalar("SELECT payload::text FROM outbox LIMIT 1")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    let script = format!(
        r"BEGIN;
INSERT INTO products (id, seller_id, name, description, category, info, status)
  VALUES (gen_random_uuid(), 'pgbench', 'Written by pgbench', '', 'bench', '{{}}', 'ACTIVE')
  RETURNING id AS pid \gset
INSERT INTO variants (id, product_id, seller_id, sku, name, attributes, price_amount, currency, on_hand, position)
  VALUES (gen_random_uuid(), ':pid', 'pgbench', 'PGB-' || ':pid', 'Default', '{{}}', 1000, 'EUR', 0,
          (SELECT coalesce(max(position) + 1, 0) FROM variants WHERE product_id = ':pid'));
SELECT * FROM variants WHERE product_id = ':pid' AND removed_at IS NULL ORDER BY position;
INSERT INTO outbox (id, event_type, aggregate_id, version, occurred_at, payload)
  VALUES (gen_random_uuid(), 'ProductUpserted', ':pid', 1, now(), '{}');
COMMIT;
",
        payload.replace('\'', "''")
    );
    let file = stack.data_dir.join("create-product.pgbench");
    std::fs::create_dir_all(&stack.data_dir).unwrap();
    std::fs::write(&file, script).unwrap();
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-c", &CONNECTIONS.to_string(), "-j", "2"])
        .args(["-t", &(products / CONNECTIONS).to_string()])
        .arg("-f")
        .arg(&file)
        .arg(&stack.database_url)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pgbench_per_s: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let ratio = graphql_per_s / pgbench_per_s;
    bench_record(
        "writes",
        &[
            ("n", products.to_string()),
            (
                "createProduct through GraphQL",
                format!("{graphql_per_s:.0}/s"),
            ),
            ("pgbench, same statements", format!("{pgbench_per_s:.0}/s")),
            ("ratio", format!("{ratio:.2}")),
            ("concurrency", format!("{CONNECTIONS} connections each")),
        ],
        json!({ "create_vs_pgbench_ratio": ratio }),
    );
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    stack.cleanup().await;
}
