//! The engine itself, on a real index in a temporary directory: what matches (every word,
//! one typo on long words, active products only), the version guard and tombstones, filters,
//! facets, orders and paging, and what survives a restart.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use chrono::{Duration, Utc};
use mercado_resolvers::{
    fakes::sample_product,
    inventory::{Product, ProductStatus},
    search::{SearchFacet, SearchRequest, SearchSort},
};

use super::*;

fn dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mercado-search-test-{}", Uuid::new_v4()))
}

fn product(name: &str, category: &str, price: i64, age_minutes: i64) -> Product {
    let mut p = sample_product("sam", name, category, price);
    p.created_at = Utc::now() - Duration::minutes(age_minutes);
    p
}

fn ask(text: &str) -> SearchRequest {
    SearchRequest {
        text: text.into(),
        limit: 20,
        facets: vec![
            SearchFacet::Category,
            SearchFacet::Seller,
            SearchFacet::Price,
        ],
        ..SearchRequest::default()
    }
}

async fn index(products: &[Product]) -> (TantivySearch, std::path::PathBuf) {
    let dir = dir();
    let search = TantivySearch::open(&dir).unwrap();
    for p in products {
        assert_eq!(search.upsert(p).await.unwrap(), Upsert::Applied);
    }
    search.commit().unwrap();
    (search, dir)
}

async fn names(search: &TantivySearch, request: SearchRequest) -> Vec<String> {
    search
        .search(&request)
        .await
        .unwrap()
        .products
        .into_iter()
        .map(|p| p.name)
        .collect()
}

#[tokio::test]
async fn every_word_must_match_somewhere_and_long_words_forgive_one_typo() {
    let mut lantern = product("Brass lantern", "lighting", 4500, 3);
    lantern.description = "Warm light for the patio".into();
    lantern.variants[0].attributes =
        async_graphql::Json(serde_json::json!({"colour": "turquoise"}));
    let lamp = product("Desk lamp", "office", 2500, 2);
    let (search, _dir) = index(&[lantern, lamp]).await;

    for (text, expected) in [
        ("lantern", vec!["Brass lantern"]),
        ("LANTERN brass", vec!["Brass lantern"]),
        ("patio", vec!["Brass lantern"]),
        ("lighting", vec!["Brass lantern"]),
        ("turquoise", vec!["Brass lantern"]),
        ("lantren", vec!["Brass lantern"]),
        ("turqoise", vec!["Brass lantern"]),
        ("lamp", vec!["Desk lamp"]),
        // Short words must be exact; every word must match.
        ("lamb", vec![]),
        ("desk lantern", vec![]),
    ] {
        assert_eq!(names(&search, ask(text)).await, expected, "{text}");
    }
}

#[tokio::test]
async fn only_active_products_match_and_versions_guard_every_change() {
    let mut lamp = product("Desk lamp", "office", 2500, 1);
    let (search, _dir) = index(std::slice::from_ref(&lamp)).await;
    assert_eq!(names(&search, ask("lamp")).await, ["Desk lamp"]);

    // Unpublished (a newer version): gone from results.
    lamp.version = 2;
    lamp.status = ProductStatus::Draft;
    assert_eq!(search.upsert(&lamp).await.unwrap(), Upsert::Applied);
    search.commit().unwrap();
    assert!(names(&search, ask("lamp")).await.is_empty());

    // A stale or duplicate event changes nothing.
    let mut stale = lamp.clone();
    stale.version = 1;
    stale.status = ProductStatus::Active;
    assert_eq!(search.upsert(&stale).await.unwrap(), Upsert::Stale);
    assert_eq!(search.upsert(&lamp).await.unwrap(), Upsert::Stale);

    // Published again, then deleted: a late update cannot bring it back.
    lamp.version = 3;
    lamp.status = ProductStatus::Active;
    search.upsert(&lamp).await.unwrap();
    search.commit().unwrap();
    assert_eq!(names(&search, ask("lamp")).await, ["Desk lamp"]);
    assert_eq!(search.tombstone(lamp.id, 4).await.unwrap(), Upsert::Applied);
    search.commit().unwrap();
    assert!(names(&search, ask("lamp")).await.is_empty());
    let mut late = lamp.clone();
    late.version = 4;
    assert_eq!(search.upsert(&late).await.unwrap(), Upsert::Stale);
    let items = search.scan().await.unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| (i.id.clone(), i.version, i.deleted))
            .collect::<Vec<_>>(),
        [(lamp.id.to_string(), 4, true)]
    );
}

#[tokio::test]
async fn filters_narrow_and_facets_count_every_match() {
    let mut from_eve = product("Floor lamp", "lighting", 12_000, 1);
    from_eve.seller_id = "eve".into();
    let (search, _dir) = index(&[
        product("Desk lamp", "office", 2_500, 4),
        product("Reading lamp", "lighting", 800, 3),
        product("Lamp shade", "lighting", 6_000, 2),
        from_eve,
    ])
    .await;
    let all = search.search(&ask("lamp")).await.unwrap();
    assert_eq!(all.total, 4);
    let counts = |list: &[mercado_resolvers::search::FacetCount]| {
        list.iter()
            .map(|f| (f.value.clone(), f.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counts(&all.facets.categories),
        [("lighting".to_string(), 3), ("office".to_string(), 1)]
    );
    assert_eq!(
        counts(&all.facets.sellers),
        [("sam".to_string(), 3), ("eve".to_string(), 1)]
    );
    let prices: Vec<u64> = all.facets.prices.iter().map(|p| p.count).collect();
    assert_eq!(prices, [1, 1, 1, 1, 0]);

    let lighting_from_sam = SearchRequest {
        category: Some("lighting".into()),
        seller_id: Some("sam".into()),
        ..ask("lamp")
    };
    let found = search.search(&lighting_from_sam).await.unwrap();
    assert_eq!(found.total, 2);
    assert_eq!(
        counts(&found.facets.categories),
        [("lighting".to_string(), 2)]
    );
    let cheap = SearchRequest {
        max_price: Some(2_500),
        min_price: Some(1_000),
        facets: vec![SearchFacet::Price],
        ..ask("lamp")
    };
    let found = search.search(&cheap).await.unwrap();
    assert_eq!(
        found
            .products
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["Desk lamp"]
    );
    assert!(found.facets.categories.is_empty(), "not asked for");
    assert_eq!(found.facets.prices.len(), 5);
}

#[tokio::test]
async fn results_are_ranked_then_newest_first_or_in_the_order_asked_and_paged() {
    let mut described = product("Shade", "lighting", 3_000, 1);
    described.description = "fits any lamp".into();
    let (search, _dir) = index(&[
        product("Old lamp", "lighting", 5_000, 30),
        described,
        product("New lamp", "lighting", 1_000, 5),
    ])
    .await;
    // Name matches outrank description matches; equal matches: newest first.
    assert_eq!(
        names(&search, ask("lamp")).await,
        ["New lamp", "Old lamp", "Shade"]
    );
    let sorted = |sort| SearchRequest {
        sort,
        ..ask("lamp")
    };
    assert_eq!(
        names(&search, sorted(SearchSort::Newest)).await,
        ["Shade", "New lamp", "Old lamp"]
    );
    assert_eq!(
        names(&search, sorted(SearchSort::PriceLowToHigh)).await,
        ["New lamp", "Shade", "Old lamp"]
    );
    assert_eq!(
        names(&search, sorted(SearchSort::PriceHighToLow)).await,
        ["Old lamp", "Shade", "New lamp"]
    );
    let second = SearchRequest {
        offset: 1,
        limit: 1,
        ..sorted(SearchSort::Newest)
    };
    let page = search.search(&second).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.products[0].name, "New lamp");
}

#[tokio::test]
async fn the_index_and_its_versions_survive_a_restart_and_another_format_is_rebuilt() {
    let lamp = product("Desk lamp", "office", 2_500, 1);
    let (search, dir) = index(std::slice::from_ref(&lamp)).await;
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
/// to docs/benchmarks.md; run with `cargo test -p mercado --lib --release -- --ignored
/// search_ten_thousand --nocapture`.
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
    let mut unique = product("Zanzibar wristwatch", "watches", 12_345, 0);
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
    println!(
        "search bench: {PRODUCTS} products indexed in {:.2} s ({:.0}/s, a commit every 500); 1000 searches with facets: p50 {:.2} ms, p99 {:.2} ms",
        indexing.as_secs_f64(),
        PRODUCTS as f64 / indexing.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
    std::fs::remove_dir_all(dir).unwrap();
}
