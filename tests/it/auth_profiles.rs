//! Auth and profiles over GraphQL against the real stack: the local provider and Cognito (on
//! the local AWS-API server), token refusal over HTTP and WebSocket, profile privacy, batched
//! seller look-ups and sign-in throttling.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use crate::common::{
    App, CREATE_PRODUCT, Socket, Stack, error_code, id_of, violation_fields, ws_init,
};
use futures::{SinkExt, StreamExt};
use mercado::{adapters::auth::LocalIssuer, app::config::BusKind};
use mercado_resolvers::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

// Upper case too: the local AWS-API server reads booleans the SDK omits as `true`, so its
// Cognito also wants an upper-case letter and a symbol (the space).
const PASSWORD: &str = "Correct horse 42";

async fn sign_up(app: &App, email: &str, roles: &[&str]) -> Value {
    let (_, body) = app
        .graphql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { userId confirmationRequired } }",
            json!({"i": {"email": email, "password": PASSWORD, "roles": roles}}),
        )
        .await;
    body
}

async fn sign_in(app: &App, email: &str, password: &str) -> Value {
    let (_, body) = app
        .graphql(
            None,
            "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { accessToken refreshToken expiresIn tokenType } }",
            json!({"e": email, "p": password}),
        )
        .await;
    body
}

async fn confirm(app: &App, email: &str, code: &str) -> Value {
    let (_, body) = app
        .graphql(
            None,
            "mutation($e: String!, $c: String!) { confirmSignUp(email: $e, code: $c) }",
            json!({"e": email, "c": code}),
        )
        .await;
    body
}

async fn refresh(app: &App, token: &str) -> Value {
    let (_, body) = app
        .graphql(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }",
            json!({"t": token}),
        )
        .await;
    body
}

async fn create_product(app: &App, token: &str, name: &str) -> Value {
    let (_, body) = app
        .graphql(
            Some(token),
            CREATE_PRODUCT,
            json!({"input": {"name": name, "category": "auth-test"}}),
        )
        .await;
    body
}

fn activation_code(mail: &Value) -> String {
    let body = mail["data"]["devMailbox"][0]["body"].as_str().unwrap();
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn local_provider_sign_up_activate_sign_in_become_seller_and_refresh() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let email = "Ana@Example.com";

    let signed = sign_up(&app, email, &["BUYER"]).await;
    assert_eq!(
        signed["data"]["signUp"]["confirmationRequired"], true,
        "{signed}"
    );
    assert_eq!(
        error_code(&sign_up(&app, "ana@example.com", &["BUYER"]).await),
        "CONFLICT"
    );

    // Not activated yet: the right password is refused with a code saying why.
    assert_eq!(
        error_code(&sign_in(&app, email, PASSWORD).await),
        "FORBIDDEN"
    );

    let (_, mail) = app
        .graphql(
            None,
            "query($e: String!) { devMailbox(email: $e) { to subject body } }",
            json!({"e": email}),
        )
        .await;
    assert_eq!(
        mail["data"]["devMailbox"][0]["to"], "ana@example.com",
        "{mail}"
    );
    let code = activation_code(&mail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let bad = confirm(&app, email, wrong).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "code");
    assert_eq!(
        confirm(&app, email, &code).await["data"]["confirmSignUp"],
        true
    );

    assert_eq!(
        error_code(&sign_in(&app, email, "wrong password 1").await),
        "UNAUTHENTICATED"
    );
    let session = sign_in(&app, email, PASSWORD).await;
    let session = &session["data"]["signIn"];
    assert_eq!(session["tokenType"], "Bearer");
    let access = session["accessToken"].as_str().unwrap().to_string();
    let first_refresh = session["refreshToken"].as_str().unwrap().to_string();

    let (_, me) = app
        .graphql(Some(&access), "{ me { id email roles } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["email"], "ana@example.com");
    assert_eq!(me["data"]["me"]["roles"], json!(["BUYER"]));

    // A buyer may not sell...
    assert_eq!(
        error_code(&create_product(&app, &access, "Lamp").await),
        "FORBIDDEN"
    );
    // ...until they become a seller and refresh their session.
    let (_, became) = app
        .graphql(Some(&access), "mutation { becomeSeller }", json!({}))
        .await;
    assert_eq!(
        became["data"]["becomeSeller"],
        json!(["BUYER", "SELLER"]),
        "{became}"
    );
    let renewed = refresh(&app, &first_refresh).await;
    let seller_access = renewed["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let second_refresh = renewed["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second_refresh, first_refresh, "refresh tokens rotate");
    let created = create_product(&app, &seller_access, "Lamp").await;
    assert_eq!(
        created["data"]["createProduct"]["sellerId"], me["data"]["me"]["id"],
        "{created}"
    );

    // Replaying the used refresh token revokes the session: the newer one dies with it.
    assert_eq!(
        error_code(&refresh(&app, &first_refresh).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&refresh(&app, &second_refresh).await),
        "UNAUTHENTICATED"
    );

    // Sign-out ends every session of the caller.
    let third = sign_in(&app, email, PASSWORD).await["data"]["signIn"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, out) = app
        .graphql(Some(&seller_access), "mutation { signOut }", json!({}))
        .await;
    assert_eq!(out["data"]["signOut"], true);
    assert_eq!(error_code(&refresh(&app, &third).await), "UNAUTHENTICATED");
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn cognito_sign_up_activate_sign_in_sell_refresh_and_refuse_a_buyer() {
    let mut stack = Stack::new(BusKind::Inprocess).await;
    stack.use_cognito().await;
    let app = stack.start().await;

    let seller = "seller@example.com";
    let signed = sign_up(&app, seller, &["SELLER"]).await;
    assert_eq!(
        signed["data"]["signUp"]["confirmationRequired"], true,
        "{signed}"
    );
    assert_eq!(
        error_code(&sign_in(&app, seller, PASSWORD).await),
        "FORBIDDEN"
    );
    // The local AWS-API server accepts any code; real Cognito emails one.
    assert_eq!(
        confirm(&app, seller, "123456").await["data"]["confirmSignUp"],
        true
    );
    let session = sign_in(&app, seller, PASSWORD).await;
    let access = session["data"]["signIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh_token = session["data"]["signIn"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let created = create_product(&app, &access, "Cognito lamp").await;
    assert_eq!(
        created["data"]["createProduct"]["name"], "Cognito lamp",
        "{created}"
    );

    let renewed = refresh(&app, &refresh_token).await;
    let renewed_access = renewed["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap();
    let (_, me) = app
        .graphql(Some(renewed_access), "{ me { id roles email } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["roles"], json!(["SELLER"]), "{me}");
    // Cognito's access tokens carry no email: the server asks the user pool.
    assert_eq!(me["data"]["me"]["email"], seller, "{me}");
    let again = create_product(&app, renewed_access, "Second lamp").await;
    assert!(again["errors"].is_null(), "{again}");

    let buyer = "buyer@example.com";
    sign_up(&app, buyer, &["BUYER"]).await;
    confirm(&app, buyer, "123456").await;
    let buyer_access = sign_in(&app, buyer, PASSWORD).await["data"]["signIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        error_code(&create_product(&app, &buyer_access, "Nope").await),
        "FORBIDDEN"
    );
    assert_eq!(stack.count("SELECT count(*) FROM products").await, 2);

    // The local provider's mailbox does not exist here.
    let (_, mailbox) = app
        .graphql(
            None,
            "{ devMailbox(email: \"a@example.com\") { body } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&mailbox), "NOT_SUPPORTED");
    app.stop().await;
    stack.cleanup().await;
}

/// The next frame: a JSON message, or `{"closed": code}`.
async fn ws_next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(15), socket.next())
            .await
            .expect("a frame within 15 s");
        match frame {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(f))) => return json!({"closed": f.map(|f| u16::from(f.code))}),
            Some(Ok(_)) => continue,
            other => return json!({"closed": null, "other": format!("{other:?}")}),
        }
    }
}

#[tokio::test]
async fn expired_foreign_key_and_foreign_audience_tokens_are_refused_over_http_and_websocket() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let ours = stack.issuer();
    let expired = ours.issue("eve", &[Role::Seller], -300).unwrap();
    let stranger = LocalIssuer::load_or_create(
        &stack.data_dir.join("stranger"),
        "mercado-local",
        "mercado",
        "roles",
    )
    .unwrap()
    .issue("eve", &[Role::Seller], 600)
    .unwrap();
    let other_audience =
        LocalIssuer::load_or_create(&stack.data_dir, "mercado-local", "another-api", "roles")
            .unwrap()
            .issue("eve", &[Role::Seller], 600)
            .unwrap();
    for (what, token) in [
        ("expired", &expired),
        ("foreign key", &stranger),
        ("foreign audience", &other_audience),
    ] {
        let (status, body) = app
            .graphql(
                Some(token),
                CREATE_PRODUCT,
                json!({"input": {"name": "x", "category": "y"}}),
            )
            .await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
        let mut socket = ws_init(&app.base, token).await;
        assert_eq!(
            ws_next(&mut socket).await,
            json!({"closed": 4403}),
            "{what}"
        );
    }
    assert_eq!(stack.count("SELECT count(*) FROM products").await, 0);
    assert_eq!(stack.count("SELECT count(*) FROM outbox").await, 0);

    // A valid token is acknowledged, and the socket closes when that token expires.
    let short = ours.issue("eve", &[Role::Buyer], 2).unwrap();
    let mut socket = ws_init(&app.base, &short).await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { heartbeat(intervalMs: 500, count: 1000) { seq } }"}})
                .to_string(),
        ))
        .await
        .unwrap();
    let mut closed = Value::Null;
    for _ in 0..20 {
        let frame = ws_next(&mut socket).await;
        if frame.get("closed").is_some() {
            closed = frame;
            break;
        }
    }
    assert_eq!(
        closed,
        json!({"closed": 4403}),
        "the subscription must not outlive its token"
    );
    app.stop().await;
    stack.cleanup().await;
}

const UPDATE_PROFILE: &str = "mutation($i: UpdateProfileInput!) { updateMyProfile(input: $i) { id profile { displayName shippingAddress { city country } } } }";
const UPDATE_MERCHANT: &str = "mutation($i: MerchantInfoInput!) { updateMerchantInfo(input: $i) { profile { merchant { storeName } } } }";
const UPDATE_PREFERENCES: &str = "mutation($i: PreferencesInput!) { updateMyPreferences(input: $i) { profile { preferences { favoriteCategories } } } }";

#[tokio::test]
async fn profiles_are_private_and_only_their_owner_changes_them() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let alice = stack.token("alice", &[Role::Seller, Role::Buyer]);
    let bob = stack.token("bob", &[Role::Buyer]);
    let address = json!({"name": "Alice", "line1": "Calle Mayor 1", "city": "Madrid", "postalCode": "28013", "country": "es"});

    // Anonymous: every mutation and `me` refused.
    for (query, vars) in [
        (UPDATE_PROFILE, json!({"i": {"displayName": "Mallory"}})),
        (UPDATE_MERCHANT, json!({"i": {"storeName": "Fake"}})),
        (
            UPDATE_PREFERENCES,
            json!({"i": {"favoriteCategories": ["x"]}}),
        ),
        ("{ me { id } }", json!({})),
    ] {
        let (_, body) = app.graphql(None, query, vars).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}");
    }

    // The owner writes their own profile.
    let (_, updated) = app
        .graphql(
            Some(&alice),
            UPDATE_PROFILE,
            json!({"i": {"displayName": "Alice", "shippingAddress": address}}),
        )
        .await;
    assert_eq!(
        updated["data"]["updateMyProfile"]["profile"]["displayName"], "Alice",
        "{updated}"
    );
    assert_eq!(
        updated["data"]["updateMyProfile"]["profile"]["shippingAddress"]["country"],
        "ES"
    );
    let (_, merchant) = app
        .graphql(
            Some(&alice),
            UPDATE_MERCHANT,
            json!({"i": {"storeName": "Alice's Lamps", "description": "Lamps"}}),
        )
        .await;
    assert_eq!(
        merchant["data"]["updateMerchantInfo"]["profile"]["merchant"]["storeName"],
        "Alice's Lamps"
    );
    app.graphql(
        Some(&alice),
        UPDATE_PREFERENCES,
        json!({"i": {"favoriteCategories": ["lamps", "lamps", "books"]}}),
    )
    .await;

    // Another user: their own (empty) profile, never Alice's; no merchant info as a buyer.
    let (_, bob_me) = app
        .graphql(
            Some(&bob),
            "{ me { id profile { displayName shippingAddress { city } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bob_me["data"]["me"],
        json!({"id": "bob", "profile": {"displayName": null, "shippingAddress": null}})
    );
    let (_, bob_merchant) = app
        .graphql(
            Some(&bob),
            UPDATE_MERCHANT,
            json!({"i": {"storeName": "Bob's"}}),
        )
        .await;
    assert_eq!(error_code(&bob_merchant), "FORBIDDEN");
    app.graphql(
        Some(&bob),
        UPDATE_PROFILE,
        json!({"i": {"displayName": "Bob"}}),
    )
    .await;

    // Bad input names the field and writes nothing.
    let (_, bad) = app
        .graphql(Some(&alice), UPDATE_PROFILE, json!({"i": {"displayName": "", "shippingAddress": {"name": "A", "line1": "x", "city": "y", "postalCode": "1", "country": "Spain"}}}))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let fields = violation_fields(&bad);
    assert_eq!(
        fields,
        ["input.displayName", "input.shippingAddress.country"]
    );

    let (_, alice_me) = app
        .graphql(Some(&alice), "{ me { profile { displayName preferences { favoriteCategories } merchant { storeName description } } } }", json!({}))
        .await;
    assert_eq!(
        alice_me["data"]["me"]["profile"],
        json!({"displayName": "Alice", "preferences": {"favoriteCategories": ["lamps", "books"]},
               "merchant": {"storeName": "Alice's Lamps", "description": "Lamps"}})
    );
    // The public view shows the storefront, nothing private.
    let (_, public) = app
        .graphql(
            None,
            "{ seller(id: \"alice\") { id storeName description } }",
            json!({}),
        )
        .await;
    assert_eq!(
        public["data"]["seller"],
        json!({"id": "alice", "storeName": "Alice's Lamps", "description": "Lamps"})
    );
    // Clearing with an explicit null.
    let (_, cleared) = app
        .graphql(
            Some(&alice),
            UPDATE_PROFILE,
            json!({"i": {"shippingAddress": null}}),
        )
        .await;
    assert_eq!(
        cleared["data"]["updateMyProfile"]["profile"],
        json!({"displayName": "Alice", "shippingAddress": null})
    );
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_page_of_twenty_products_with_sellers_costs_one_query_and_one_batch_get() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let mut last = String::new();
    for i in 0..20 {
        let seller = format!("seller-{}", i % 7);
        let token = stack.token(&seller, &[Role::Seller]);
        if i < 7 {
            app.graphql(
                Some(&token),
                UPDATE_MERCHANT,
                json!({"i": {"storeName": format!("Store {seller}")}}),
            )
            .await;
        }
        let (_, created) = app
            .graphql(
                Some(&token),
                CREATE_PRODUCT,
                json!({"input": {"name": format!("p{i}"), "category": "batched"}}),
            )
            .await;
        last = id_of(&created, "createProduct");
    }
    app.wait_for_product(&last, |p| !p.is_null()).await;
    let profiles = app.server.adapters.observed.profiles.clone();
    let catalog = app.server.adapters.observed.catalog.clone();
    let before = profiles.batch_get_calls();
    let queries_before = catalog.query_calls();
    let (_, page) = app
        .graphql(None, "{ products(filter: {category: \"batched\"}, first: 20) { edges { node { name seller { id storeName } } } } }", json!({}))
        .await;
    assert_eq!(
        profiles.batch_get_calls() - before,
        1,
        "one BatchGetItem for the whole page"
    );
    assert_eq!(
        catalog.query_calls() - queries_before,
        1,
        "one Query for the page"
    );
    let edges = page["data"]["products"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 20);
    for edge in edges {
        let seller = &edge["node"]["seller"];
        assert_eq!(
            seller["storeName"],
            format!("Store {}", seller["id"].as_str().unwrap())
        );
    }
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_slowed_then_refused() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let email = "target@example.com";
    sign_up(&app, email, &["BUYER"]).await;
    let (_, mail) = app
        .graphql(
            None,
            "query($e: String!) { devMailbox(email: $e) { body } }",
            json!({"e": email}),
        )
        .await;
    confirm(&app, email, &activation_code(&mail)).await;

    // 10 failures (the last five slowed) lock the account...
    for _ in 0..mercado_resolvers::auth::ACCOUNT_LOCK_AFTER {
        assert_eq!(
            error_code(&sign_in(&app, email, "wrong password 1").await),
            "UNAUTHENTICATED"
        );
    }
    // ...so even the right password is refused, with a retry hint.
    let locked = sign_in(&app, email, PASSWORD).await;
    assert_eq!(error_code(&locked), "TOO_MANY_REQUESTS", "{locked}");
    let retry = locked["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_i64()
        .unwrap();
    assert!(
        retry > 0 && retry <= mercado_resolvers::auth::LOCK_SECONDS,
        "{retry}"
    );
    // The lock lasts its own time, even once the window it was earned in has passed (as when
    // the failures were spread over 14 minutes).
    sqlx::query(
        "UPDATE sign_in_failures SET window_started = now() - interval '16 minutes'
         WHERE key = $1",
    )
    .bind(format!("account:{email}"))
    .execute(&mut stack.pg().await)
    .await
    .unwrap();
    let still = sign_in(&app, email, PASSWORD).await;
    assert_eq!(error_code(&still), "TOO_MANY_REQUESTS", "{still}");

    // Another account from the same address is unaffected (the address is under its limits).
    let other = "bystander@example.com";
    sign_up(&app, other, &["BUYER"]).await;
    let (_, mail) = app
        .graphql(
            None,
            "query($e: String!) { devMailbox(email: $e) { body } }",
            json!({"e": other}),
        )
        .await;
    confirm(&app, other, &activation_code(&mail)).await;
    assert!(sign_in(&app, other, PASSWORD).await["data"]["signIn"]["accessToken"].is_string());
    app.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn sign_up_input_rules_name_each_field_and_write_nothing() {
    let stack = Stack::new(BusKind::Inprocess).await;
    let app = stack.start().await;
    let (_, body) = app
        .graphql(
            None,
            "mutation { signUp(input: {email: \"not-an-email\", password: \"short\"}) { userId } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let fields = violation_fields(&body);
    assert_eq!(fields, ["input.email", "input.password"]);
    assert_eq!(stack.count("SELECT count(*) FROM users").await, 0);
    app.stop().await;
    stack.cleanup().await;
}

/// `oidc` mode verifies another issuer's tokens by its JWKS URL (here: a second server in
/// local mode publishing `/.well-known/jwks.json`), and leaves sign-up to that issuer.
#[tokio::test]
async fn oidc_mode_trusts_an_external_issuer_by_its_jwks_url() {
    let issuer_stack = Stack::new(BusKind::Inprocess).await;
    let issuer_app = issuer_stack.start().await;
    let mut stack = Stack::new(BusKind::Inprocess).await;
    stack.config.auth.auth = mercado::app::config::AuthMode::Oidc;
    stack.config.auth.jwks_url = Some(format!("{}/.well-known/jwks.json", issuer_app.base));
    stack.config.auth.jwt_roles_claim = "roles".into();
    let app = stack.start().await;

    let token = issuer_stack.token("zed", &[Role::Seller]);
    let created = create_product(&app, &token, "Via OIDC").await;
    assert_eq!(
        created["data"]["createProduct"]["sellerId"], "zed",
        "{created}"
    );
    // This server has no key of its own: its own local tokens mean nothing here.
    let local = stack.token("zed", &[Role::Seller]);
    let (status, _) = app.graphql(Some(&local), "{ __typename }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_code(&sign_up(&app, "x@example.com", &["BUYER"]).await),
        "NOT_SUPPORTED"
    );
    app.stop().await;
    issuer_app.stop().await;
    stack.cleanup().await;
    issuer_stack.cleanup().await;
}
