//! The Tantivy engine on a real index in a temporary directory: the search contract, what
//! survives a restart, and a benchmark.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use mercado_resolvers::search::{SearchRequest, SearchSort};

use super::*;
use crate::adapters::search::contract::{self, ask, names, product};

fn dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mercado-search-test-{}", Uuid::new_v4()))
}

contract::contract_tests!(async { TantivySearch::open(&dir()).unwrap() });

#[tokio::test]
async fn the_index_and_its_versions_survive_a_restart_and_another_format_is_rebuilt() {
    let lamp = product(1, "Desk lamp", "office", 2_500, 1);
    let dir = dir();
    let search = TantivySearch::open(&dir).unwrap();
    contract::index(&search, std::slice::from_ref(&lamp)).await;
    search.tombstone(Uuid::new_v4(), 7).await.unwrap();
    search.commit().unwrap();
    drop(search);

    let reopened = TantivySearch::open(&dir).unwrap();
    assert_eq!(reopened.products(), 2);
    assert_eq!(names(&reopened, ask("lamp")).await, ["Desk lamp"]);
    assert_eq!(reopened.upsert(&lamp).await.unwrap(), Upsert::Stale);
    drop(reopened);

    std::fs::write(dir.join(FORMAT_FILE), "mercado-search-0").unwrap();
    let rebuilt = TantivySearch::open(&dir).unwrap();
    assert_eq!(rebuilt.products(), 0);
    assert!(names(&rebuilt, ask("lamp")).await.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

/// 10,000 generated products: indexing throughput, then search latency (p50, p99) for typical
/// queries with every facet, and a typo that still finds the one intended product. Figures go
/// to docs/benchmarks.md through `scripts/bench` (release).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn search_ten_thousand_products() {
    const PRODUCTS: usize = 10_000;
    const WORDS: [&str; 12] = [
        "lantern", "kettle", "teapot", "blanket", "candle", "basket", "mirror", "pillow", "bottle",
        "jacket", "helmet", "saddle",
    ];
    const COLOURS: [&str; 6] = ["copper", "walnut", "indigo", "amber", "olive", "silver"];
    let dir = dir();
    let search = TantivySearch::open(&dir).unwrap();
    let started = std::time::Instant::now();
    let mut expected_lighting = 0;
    for n in 0..PRODUCTS {
        let word = WORDS[n % WORDS.len()];
        let colour = COLOURS[(n / WORDS.len()) % COLOURS.len()];
        let category = if n % 3 == 0 { "lighting" } else { "home" };
        if category == "lighting" && word == "lantern" {
            expected_lighting += 1;
        }
        let mut p = product(
            n as u128,
            &format!("{colour} {word} {n}"),
            category,
            500 + (n as i64 * 37) % 60_000,
            0,
        );
        p.seller_id = format!("seller-{}", n % 25);
        p.description = format!("A {colour} {word} for every day");
        search.upsert(&p).await.unwrap();
        if n % 500 == 499 {
            search.commit().unwrap();
        }
    }
    search.commit().unwrap();
    let indexing = started.elapsed();
    let mut unique = product(
        PRODUCTS as u128,
        "Zanzibar wristwatch",
        "watches",
        12_345,
        0,
    );
    unique.description = "one of a kind".into();
    search.upsert(&unique).await.unwrap();
    search.commit().unwrap();

    // One typo in a long word still finds the one product.
    assert_eq!(
        names(&search, ask("wristwach")).await,
        ["Zanzibar wristwatch"]
    );
    // Facets count every match.
    let lanterns = search.search(&ask("lantern")).await.unwrap();
    let lighting = lanterns
        .facets
        .categories
        .iter()
        .find(|f| f.value == "lighting")
        .map_or(0, |f| f.count);
    assert_eq!(lighting, expected_lighting);

    let mut latencies = Vec::new();
    for n in 0..1_000 {
        let text = format!("{} {}", COLOURS[n % COLOURS.len()], WORDS[n % WORDS.len()]);
        let request = SearchRequest {
            sort: if n % 4 == 0 {
                SearchSort::Newest
            } else {
                SearchSort::Relevance
            },
            ..ask(&text)
        };
        let asked = std::time::Instant::now();
        let found = search.search(&request).await.unwrap();
        latencies.push(asked.elapsed());
        assert!(found.total > 0);
    }
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (at(0.5).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3);
    // A row for `scripts/bench` (docs/benchmarks.md), as the integration benchmarks write it.
    let line = serde_json::json!({
        "table": "search",
        "row": {
            "products": PRODUCTS.to_string(),
            "indexing": format!("{:.2} s ({:.0}/s, a commit every 500)", indexing.as_secs_f64(), PRODUCTS as f64 / indexing.as_secs_f64()),
            "1,000 searches with every facet": format!("p50 {p50:.2} ms, p99 {p99:.2} ms"),
        },
        "metrics": { "search_p99_ms": p99 },
    });
    println!("bench {line}");
    if let Some(path) = std::env::var_os("MERCADO_BENCH_OUT") {
        use std::io::Write;
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(out, "{line}").unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
}
