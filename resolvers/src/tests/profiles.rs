//! Profiles: the caller's own profile (`me`), partial updates and their validation, merchant
//! information for sellers, and privacy: nobody reads another user's profile, only a seller's
//! public storefront.

use serde_json::{Value, json};

use super::{Harness, buyer, seller, text, user};
use crate::{
    Role,
    address::Address,
    profiles::{MerchantInfo, Profile},
};

const ME: &str = "{ me { id email roles profile {
    displayName
    shippingAddress { name line1 line2 city postalCode country }
    preferences { favoriteCategories }
    merchant { storeName description }
} } }";

const UPDATE_PROFILE: &str = "mutation($input: UpdateProfileInput!) {
    updateMyProfile(input: $input) {
        id
        profile { displayName shippingAddress { name line1 line2 city postalCode country } }
    }
}";

const PREFERENCES: &str = "mutation($input: PreferencesInput!) {
    updateMyPreferences(input: $input) { profile { preferences { favoriteCategories } } }
}";

const MERCHANT: &str = "mutation($input: MerchantInfoInput!) {
    updateMerchantInfo(input: $input) { roles profile { merchant { storeName description } } }
}";

const SELLER: &str = "query($id: ID!) { seller(id: $id) { id storeName description } }";

fn address() -> Value {
    json!({
        "name": "Ana Ruiz", "line1": "Calle Mayor 1", "line2": null,
        "city": "Madrid", "postalCode": "28013", "country": "es"
    })
}

#[tokio::test]
async fn me_needs_a_token_and_starts_empty() {
    let h = Harness::new();
    h.gql(ME).send().await.refused("UNAUTHENTICATED", None);
    let ana = user("ana", &[Role::Buyer, Role::Seller]);
    let me = h.gql(ME).by(&ana).send().await;
    assert_eq!(
        me.ok()["me"],
        json!({
            "id": "ana", "email": "ana@example.com", "roles": ["BUYER", "SELLER"],
            "profile": {
                "displayName": null, "shippingAddress": null,
                "preferences": {"favoriteCategories": []}, "merchant": null
            }
        })
    );
}

#[tokio::test]
async fn profile_updates_are_partial_and_null_clears() {
    let h = Harness::new();
    let ana = buyer("ana");
    let set = h
        .gql(UPDATE_PROFILE)
        .by(&ana)
        .vars(json!({"input": {"displayName": "  Ana  ", "shippingAddress": address()}}))
        .send()
        .await;
    let set = set.ok();
    assert_eq!(text(set, "/updateMyProfile/profile/displayName"), "Ana");
    // The country is normalised to upper case.
    assert_eq!(
        set["updateMyProfile"]["profile"]["shippingAddress"],
        json!({
            "name": "Ana Ruiz", "line1": "Calle Mayor 1", "line2": null,
            "city": "Madrid", "postalCode": "28013", "country": "ES"
        })
    );
    // Only the address: the display name stays.
    let cleared = h
        .gql(UPDATE_PROFILE)
        .by(&ana)
        .vars(json!({"input": {"shippingAddress": null}}))
        .send()
        .await;
    let cleared = cleared.ok();
    assert_eq!(text(cleared, "/updateMyProfile/profile/displayName"), "Ana");
    assert_eq!(
        cleared["updateMyProfile"]["profile"]["shippingAddress"],
        Value::Null
    );
    // An empty input changes nothing.
    let nothing = h
        .gql(UPDATE_PROFILE)
        .by(&ana)
        .vars(json!({"input": {}}))
        .send()
        .await;
    assert_eq!(
        text(nothing.ok(), "/updateMyProfile/profile/displayName"),
        "Ana"
    );
    let unnamed = h
        .gql(UPDATE_PROFILE)
        .by(&ana)
        .vars(json!({"input": {"displayName": null}}))
        .send()
        .await;
    assert_eq!(
        unnamed.ok()["updateMyProfile"]["profile"]["displayName"],
        Value::Null
    );
    assert_eq!(h.profiles.stored("ana").unwrap().display_name, None);
}

#[tokio::test]
async fn every_profile_violation_is_named_and_nothing_is_written() {
    let h = Harness::new();
    let ana = buyer("ana");
    for name in ["", "   ", &"x".repeat(101)] {
        h.gql(UPDATE_PROFILE)
            .by(&ana)
            .vars(json!({"input": {"displayName": name}}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("input.displayName"));
    }
    let answer = h
        .gql(UPDATE_PROFILE)
        .by(&ana)
        .vars(json!({"input": {
            "displayName": "",
            "shippingAddress": {
                "name": " ", "line1": "Calle Mayor 1", "line2": "x".repeat(201),
                "city": "", "postalCode": "1".repeat(21), "country": "Spain"
            }
        }}))
        .send()
        .await;
    answer.refused("BAD_USER_INPUT", Some("input.displayName"));
    assert_eq!(
        answer.violations(),
        [
            "input.displayName",
            "input.shippingAddress.country",
            "input.shippingAddress.name",
            "input.shippingAddress.line2",
            "input.shippingAddress.city",
            "input.shippingAddress.postalCode",
        ]
    );
    for country in ["E", "ESP", "1A", "é1"] {
        let mut a = address();
        a["country"] = json!(country);
        h.gql(UPDATE_PROFILE)
            .by(&ana)
            .vars(json!({"input": {"shippingAddress": a}}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("input.shippingAddress.country"));
    }
    assert_eq!(h.profiles.stored("ana"), None);
}

#[tokio::test]
async fn preferences_are_replaced_trimmed_and_deduplicated() {
    let h = Harness::new();
    let ana = buyer("ana");
    let set = h
        .gql(PREFERENCES)
        .by(&ana)
        .vars(json!({"input": {"favoriteCategories": ["books", " books ", "music"]}}))
        .send()
        .await;
    assert_eq!(
        set.ok()["updateMyPreferences"]["profile"]["preferences"]["favoriteCategories"],
        json!(["books", "music"])
    );
    let replaced = h
        .gql(PREFERENCES)
        .by(&ana)
        .vars(json!({"input": {"favoriteCategories": ["garden"]}}))
        .send()
        .await;
    assert_eq!(
        replaced.ok()["updateMyPreferences"]["profile"]["preferences"]["favoriteCategories"],
        json!(["garden"])
    );
    let twenty_one: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
    h.gql(PREFERENCES)
        .by(&ana)
        .vars(json!({"input": {"favoriteCategories": twenty_one}}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("input.favoriteCategories"));
    let twenty: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    h.gql(PREFERENCES)
        .by(&ana)
        .vars(json!({"input": {"favoriteCategories": twenty}}))
        .send()
        .await
        .ok();
    let bad = h
        .gql(PREFERENCES)
        .by(&ana)
        .vars(json!({"input": {"favoriteCategories": ["ok", " ", "x".repeat(101)]}}))
        .send()
        .await;
    bad.refused("BAD_USER_INPUT", Some("input.favoriteCategories.1"));
    assert_eq!(
        bad.violations(),
        ["input.favoriteCategories.1", "input.favoriteCategories.2"]
    );
    assert_eq!(
        h.profiles.stored("ana").unwrap().favorite_categories.len(),
        20
    );
}

#[tokio::test]
async fn writing_a_profile_needs_a_token_before_anything_else() {
    let h = Harness::new();
    h.gql(UPDATE_PROFILE)
        .vars(json!({"input": {"displayName": ""}}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.gql(PREFERENCES)
        .vars(json!({"input": {"favoriteCategories": [""]}}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.gql(MERCHANT)
        .vars(json!({"input": {"storeName": ""}}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
}

#[tokio::test]
async fn merchant_info_is_for_sellers_and_shows_on_their_storefront() {
    let h = Harness::new();
    h.gql(MERCHANT)
        .by(&buyer("ana"))
        .vars(json!({"input": {"storeName": "Ana's"}}))
        .send()
        .await
        .refused("FORBIDDEN", None);
    let sam = seller("sam");
    for (input, field) in [
        (json!({"storeName": " "}), "input.storeName"),
        (json!({"storeName": "x".repeat(101)}), "input.storeName"),
        (
            json!({"storeName": "Sam's", "description": "x".repeat(2001)}),
            "input.description",
        ),
    ] {
        h.gql(MERCHANT)
            .by(&sam)
            .vars(json!({"input": input}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    let set = h
        .gql(MERCHANT)
        .by(&sam)
        .vars(json!({"input": {"storeName": " Sam's ", "description": "Lamps"}}))
        .send()
        .await;
    assert_eq!(
        set.ok()["updateMerchantInfo"],
        json!({"roles": ["SELLER"], "profile": {"merchant": {"storeName": "Sam's", "description": "Lamps"}}})
    );
    let storefront = h.gql(SELLER).vars(json!({"id": "sam"})).send().await;
    assert_eq!(
        storefront.ok()["seller"],
        json!({"id": "sam", "storeName": "Sam's", "description": "Lamps"})
    );
    // An empty description is no description; the merchant info is replaced as a whole.
    h.gql(MERCHANT)
        .by(&sam)
        .vars(json!({"input": {"storeName": "Sam's", "description": ""}}))
        .send()
        .await
        .ok();
    let storefront = h.gql(SELLER).vars(json!({"id": "sam"})).send().await;
    assert_eq!(storefront.ok()["seller"]["description"], Value::Null);
}

#[tokio::test]
async fn a_storefront_shows_nothing_private() {
    let h = Harness::new();
    h.profiles.seed(Profile {
        user_id: "ana".into(),
        display_name: Some("Ana".into()),
        shipping_address: Some(Address {
            name: "Ana Ruiz".into(),
            line1: "Calle Mayor 1".into(),
            line2: None,
            city: "Madrid".into(),
            postal_code: "28013".into(),
            country: "ES".into(),
        }),
        favorite_categories: vec!["books".into()],
        merchant: Some(MerchantInfo {
            store_name: "Ana's".into(),
            description: None,
        }),
    });
    let storefront = h
        .gql(SELLER)
        .by(&buyer("eve"))
        .vars(json!({"id": "ana"}))
        .send()
        .await;
    assert_eq!(
        storefront.ok()["seller"],
        json!({"id": "ana", "storeName": "Ana's", "description": null})
    );
    for private in [
        "displayName",
        "shippingAddress { city }",
        "preferences { favoriteCategories }",
    ] {
        h.gql(&format!("{{ seller(id: \"ana\") {{ {private} }} }}"))
            .send()
            .await
            .refused("GRAPHQL_VALIDATION_FAILED", None);
    }
    // Another user's `me` is theirs alone.
    let eve = h.gql(ME).by(&buyer("eve")).send().await;
    assert_eq!(eve.ok()["me"]["profile"]["displayName"], Value::Null);
    // No query takes a user id and answers a private profile: `me` is the only way in.
    let roots = h
        .gql(r#"{ __type(name: "Query") { fields { name args { name } type { name ofType { name } } } } }"#)
        .send()
        .await;
    let private: Vec<(String, usize)> = roots.ok()["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let ty = &f["type"];
            ["Me", "Profile"].contains(
                &ty["name"]
                    .as_str()
                    .or(ty["ofType"]["name"].as_str())
                    .unwrap_or(""),
            )
        })
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["args"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(private, [("me".to_string(), 0)]);
}

#[tokio::test]
async fn a_seller_without_a_profile_is_bare_and_ids_are_bounded() {
    let h = Harness::new();
    let bare = h.gql(SELLER).vars(json!({"id": "nobody"})).send().await;
    assert_eq!(
        bare.ok()["seller"],
        json!({"id": "nobody", "storeName": null, "description": null})
    );
    for id in [String::new(), "x".repeat(201)] {
        h.gql(SELLER)
            .vars(json!({"id": id}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some("id"));
    }
    h.gql(SELLER)
        .vars(json!({"id": "x".repeat(200)}))
        .send()
        .await
        .ok();
}
