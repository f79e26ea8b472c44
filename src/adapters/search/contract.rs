//! What every search engine must do, written once against [`SearchModel`] and run against each
//! engine (`contract_tests!`): what matches (every word, one typo on long words, active products
//! only), the version guard and tombstones, filters, facets, orders and paging. Behaviour only,
//! never scores. Products are deterministic (ids, SKUs, times), so a run's requests are the same
//! every time.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use chrono::{DateTime, Duration, Utc};
use mercado_resolvers::{
    fakes::sample_product,
    inventory::{Product, ProductStatus},
    search::{FacetCount, SearchFacet, SearchRequest, SearchSort},
};
use uuid::Uuid;

use super::SearchModel;
use crate::workers::projector::Upsert;

/// A product numbered `n` (its id and SKU follow from it), made `age_minutes` before a fixed
/// moment.
pub fn product(n: u128, name: &str, category: &str, price: i64, age_minutes: i64) -> Product {
    let base: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
    let mut p = sample_product("sam", name, category, price);
    p.id = Uuid::from_u128(n);
    p.variants[0].id = Uuid::from_u128(1_000_000 + n);
    p.variants[0].sku = format!("SKU-{n}");
    p.created_at = base - Duration::minutes(age_minutes);
    p.updated_at = p.created_at;
    p
}

pub fn ask(text: &str) -> SearchRequest {
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

pub async fn index(search: &dyn SearchModel, products: &[Product]) {
    for p in products {
        assert_eq!(search.upsert(p).await.unwrap(), Upsert::Applied);
    }
    search.flush().await.unwrap();
}

pub async fn names(search: &dyn SearchModel, request: SearchRequest) -> Vec<String> {
    search
        .search(&request)
        .await
        .unwrap()
        .products
        .into_iter()
        .map(|p| p.name)
        .collect()
}

fn counts(list: &[FacetCount]) -> Vec<(String, u64)> {
    list.iter().map(|f| (f.value.clone(), f.count)).collect()
}

pub async fn every_word_must_match_somewhere_and_long_words_forgive_one_typo(
    search: &dyn SearchModel,
) {
    let mut lantern = product(1, "Brass lantern", "lighting", 4500, 3);
    lantern.description = "Warm light for the patio".into();
    lantern.variants[0].attributes =
        async_graphql::Json(serde_json::json!({"colour": "turquoise"}));
    let lamp = product(2, "Desk lamp", "office", 2500, 2);
    index(search, &[lantern, lamp]).await;

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
        assert_eq!(names(search, ask(text)).await, expected, "{text}");
    }
}

pub async fn only_active_products_match_and_versions_guard_every_change(search: &dyn SearchModel) {
    let mut lamp = product(3, "Desk lamp", "office", 2500, 1);
    index(search, std::slice::from_ref(&lamp)).await;
    assert_eq!(names(search, ask("lamp")).await, ["Desk lamp"]);

    // Unpublished (a newer version): gone from results.
    lamp.version = 2;
    lamp.status = ProductStatus::Draft;
    assert_eq!(search.upsert(&lamp).await.unwrap(), Upsert::Applied);
    search.flush().await.unwrap();
    assert!(names(search, ask("lamp")).await.is_empty());

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
    search.flush().await.unwrap();
    assert_eq!(names(search, ask("lamp")).await, ["Desk lamp"]);
    assert_eq!(search.tombstone(lamp.id, 4).await.unwrap(), Upsert::Applied);
    search.flush().await.unwrap();
    assert!(names(search, ask("lamp")).await.is_empty());
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

pub async fn filters_narrow_and_facets_count_every_match(search: &dyn SearchModel) {
    let mut from_eve = product(4, "Floor lamp", "lighting", 12_000, 1);
    from_eve.seller_id = "eve".into();
    index(
        search,
        &[
            product(5, "Desk lamp", "office", 2_500, 4),
            product(6, "Reading lamp", "lighting", 800, 3),
            product(7, "Lamp shade", "lighting", 6_000, 2),
            from_eve,
        ],
    )
    .await;
    let all = search.search(&ask("lamp")).await.unwrap();
    assert_eq!(all.total, 4);
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

pub async fn results_are_ranked_then_newest_first_or_in_the_order_asked_and_paged(
    search: &dyn SearchModel,
) {
    let mut described = product(8, "Shade", "lighting", 3_000, 1);
    described.description = "fits any lamp".into();
    index(
        search,
        &[
            product(9, "Old lamp", "lighting", 5_000, 30),
            described,
            product(10, "New lamp", "lighting", 1_000, 5),
        ],
    )
    .await;
    // Name matches outrank description matches; equal matches: newest first.
    assert_eq!(
        names(search, ask("lamp")).await,
        ["New lamp", "Old lamp", "Shade"]
    );
    let sorted = |sort| SearchRequest {
        sort,
        ..ask("lamp")
    };
    assert_eq!(
        names(search, sorted(SearchSort::Newest)).await,
        ["Shade", "New lamp", "Old lamp"]
    );
    assert_eq!(
        names(search, sorted(SearchSort::PriceLowToHigh)).await,
        ["New lamp", "Shade", "Old lamp"]
    );
    assert_eq!(
        names(search, sorted(SearchSort::PriceHighToLow)).await,
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

/// The contract's tests for one engine: `$fresh` is an expression giving an empty index
/// (`impl Future<Output = impl SearchModel>`); attributes after it (`#[ignore]`) apply to each.
macro_rules! contract_tests {
    ($fresh:expr $(, #[$attr:meta])*) => {
        #[tokio::test]
        $(#[$attr])*
        async fn every_word_must_match_somewhere_and_long_words_forgive_one_typo() {
            let search = $fresh.await;
            $crate::adapters::search::contract::every_word_must_match_somewhere_and_long_words_forgive_one_typo(&search).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn only_active_products_match_and_versions_guard_every_change() {
            let search = $fresh.await;
            $crate::adapters::search::contract::only_active_products_match_and_versions_guard_every_change(&search).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn filters_narrow_and_facets_count_every_match() {
            let search = $fresh.await;
            $crate::adapters::search::contract::filters_narrow_and_facets_count_every_match(&search).await;
        }

        #[tokio::test]
        $(#[$attr])*
        async fn results_are_ranked_then_newest_first_or_in_the_order_asked_and_paged() {
            let search = $fresh.await;
            $crate::adapters::search::contract::results_are_ranked_then_newest_first_or_in_the_order_asked_and_paged(&search).await;
        }
    };
}
pub(crate) use contract_tests;
