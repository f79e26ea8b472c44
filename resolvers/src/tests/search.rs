//! Search: how a request is checked (text, prices, cursors, the depth cap), what the index is
//! asked, and how its answer is paged, with the facets passed through.

use serde_json::json;

use super::{Harness, text, texts};
use crate::{
    fakes::sample_product,
    search::{FacetCount, SearchFacet, SearchFacets, SearchHits, SearchSort},
};

const SEARCH: &str = "query($q: String!, $first: Int! = 20, $after: String, $filter: ProductFilter, $sort: SearchSort! = RELEVANCE, $facets: [SearchFacet!]! = [CATEGORY, SELLER, PRICE]) {
    search(query: $q, first: $first, after: $after, filter: $filter, sort: $sort, facets: $facets) {
        total
        edges { cursor node { name } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
        facets { categories { value count } sellers { value count } prices { min max count } }
    }
}";

/// `total` lamps match, the index says (it pages through at most the first 1000).
fn lamps(h: &Harness, total: u64) {
    h.search.answer(SearchHits {
        products: (0..total.min(1000))
            .map(|i| sample_product("sam", &format!("Lamp {i}"), "lighting", 1000))
            .collect(),
        total,
        facets: SearchFacets {
            categories: vec![FacetCount {
                value: "lighting".into(),
                count: total,
            }],
            ..SearchFacets::default()
        },
    });
}

#[tokio::test]
async fn a_search_is_paged_by_cursor_with_counts_over_every_match() {
    let h = Harness::new();
    lamps(&h, 30);
    let first = h
        .gql(SEARCH)
        .vars(json!({"q": "  lamp ", "first": 20}))
        .send()
        .await;
    let page = &first.ok()["search"];
    assert_eq!(page["total"], 30);
    assert_eq!(page["edges"].as_array().unwrap().len(), 20);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(
        page["facets"]["categories"],
        json!([{"value": "lighting", "count": 30}])
    );
    let end = text(first.ok(), "/search/pageInfo/endCursor").to_string();
    let rest = h
        .gql(SEARCH)
        .vars(json!({"q": "lamp", "after": end}))
        .send()
        .await;
    assert_eq!(
        texts(rest.ok(), "/search/edges", "/node/name"),
        (20..30).map(|i| format!("Lamp {i}")).collect::<Vec<_>>()
    );
    assert_eq!(rest.ok()["search"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest.ok()["search"]["pageInfo"]["hasPreviousPage"], true);

    let asked = h.search.requests();
    assert_eq!(asked[0].text, "lamp");
    assert_eq!((asked[0].offset, asked[0].limit), (0, 20));
    assert_eq!((asked[1].offset, asked[1].limit), (20, 20));
    assert_eq!(asked[0].sort, SearchSort::Relevance);
    assert_eq!(
        asked[0].facets,
        [
            SearchFacet::Category,
            SearchFacet::Seller,
            SearchFacet::Price
        ]
    );
}

#[tokio::test]
async fn filters_sort_and_facets_reach_the_index() {
    let h = Harness::new();
    lamps(&h, 30);
    h.gql(SEARCH)
        .vars(json!({
            "q": "lamp", "sort": "PRICE_LOW_TO_HIGH", "facets": ["SELLER"],
            "filter": {"category": "lighting", "sellerId": "sam", "minPrice": 100, "maxPrice": 900},
        }))
        .send()
        .await
        .ok();
    let asked = &h.search.requests()[0];
    assert_eq!(asked.category.as_deref(), Some("lighting"));
    assert_eq!(asked.seller_id.as_deref(), Some("sam"));
    assert_eq!((asked.min_price, asked.max_price), (Some(100), Some(900)));
    assert_eq!(asked.sort, SearchSort::PriceLowToHigh);
    assert_eq!(asked.facets, [SearchFacet::Seller]);
}

#[tokio::test]
async fn results_stop_at_the_depth_cap() {
    let h = Harness::new();
    lamps(&h, 5000);
    // The 981st to the 1000th: the last reachable page says there is no next one.
    let near = crate::search::SEARCH_DEPTH - 20;
    let after = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        format!("search:{near}"),
    );
    let last = h
        .gql(SEARCH)
        .vars(json!({"q": "lamp", "first": 50, "after": after}))
        .send()
        .await;
    assert_eq!(last.ok()["search"]["total"], 5000);
    assert_eq!(last.ok()["search"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(h.search.requests()[0].limit, 20);
    let past = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        "search:1000",
    );
    h.gql(SEARCH)
        .vars(json!({"q": "lamp", "after": past}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("after"));
}

#[tokio::test]
async fn bad_searches_are_refused_naming_the_field_and_never_reach_the_index() {
    let h = Harness::new();
    for (vars, field) in [
        (json!({"q": "   "}), "query"),
        (json!({"q": " ?! - "}), "query"),
        (json!({"q": "x".repeat(500)}), "query"),
        (json!({"q": "lamp", "after": "nope"}), "after"),
        (
            json!({"q": "lamp", "filter": {"minPrice": -1}}),
            "filter.minPrice",
        ),
        (json!({"q": "lamp", "first": 0}), "first"),
        (json!({"q": "lamp", "first": 101}), "first"),
    ] {
        h.gql(SEARCH)
            .vars(vars.clone())
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    // A single bad field lists its violation too: clients read one shape for every input error.
    let page = h
        .gql(SEARCH)
        .vars(json!({"q": "lamp", "first": 0}))
        .send()
        .await;
    assert_eq!(page.violations(), ["first"]);
    // An unknown facet or sort is not in the schema: refused before any resolver runs.
    let unknown = h
        .gql(SEARCH)
        .vars(json!({"q": "lamp", "facets": ["COLOUR"]}))
        .send()
        .await;
    assert!(
        unknown.error()["message"]
            .as_str()
            .unwrap()
            .contains("COLOUR")
    );
    assert!(h.search.requests().is_empty());
}

#[tokio::test]
async fn a_server_without_search_answers_unavailable() {
    use crate::search::{SearchIndex, SearchOff, SearchRequest};
    let refused = SearchOff("off").search(&SearchRequest::default()).await;
    assert!(matches!(refused, Err(crate::StoreError::Unavailable(_))));
}
