//! Auth: sign-up, activation through the development mailbox, sign-in, refresh-token rotation,
//! sign-out, `becomeSeller`, the input rules, the OIDC provider's refusals, and sign-in
//! throttling per account and per client address.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Harness, Setup, buyer, text, user};
use crate::{
    Role, Viewer,
    auth::{LOCK_SECONDS, WINDOW_SECONDS},
    fakes::FakeIdentity,
};

const SIGN_UP: &str = "mutation($input: SignUpInput!) {
    signUp(input: $input) { userId confirmationRequired }
}";
const CONFIRM: &str = "mutation($e: String!, $c: String!) { confirmSignUp(email: $e, code: $c) }";
const SIGN_IN: &str = "mutation($e: String!, $p: String!) {
    signIn(email: $e, password: $p) { accessToken idToken refreshToken expiresIn tokenType }
}";
const REFRESH: &str = "mutation($t: String!) {
    refreshSession(refreshToken: $t) { accessToken refreshToken }
}";
const SIGN_OUT: &str = "mutation($t: String) { signOut(refreshToken: $t) }";
const BECOME_SELLER: &str = "mutation { becomeSeller }";
const MAILBOX: &str = "query($e: String!) { devMailbox(email: $e) { to subject body sentAt } }";

const PASSWORD: &str = "correct horse 1";
/// The client address throttling tests sign in from.
const ADDR: &str = "198.51.100.7";

/// The activation code in the newest mail to `email`.
async fn code(h: &Harness, email: &str) -> String {
    let mails = h.gql(MAILBOX).vars(json!({"e": email})).send().await;
    let body = text(mails.ok(), "/devMailbox/0/body");
    let (_, rest) = body.split_once("code is ").unwrap();
    rest.chars().take_while(char::is_ascii_digit).collect()
}

async fn sign_in(h: &Harness, email: &str, password: &str) -> super::Answer {
    h.gql(SIGN_IN)
        .from(ADDR)
        .vars(json!({"e": email, "p": password}))
        .send()
        .await
}

/// Signs in and answers (the caller the access token proves, the refresh token).
async fn session(h: &Harness, email: &str) -> (Viewer, String, String) {
    let answer = sign_in(h, email, PASSWORD).await;
    let access = text(answer.ok(), "/signIn/accessToken").to_string();
    let refresh = text(answer.ok(), "/signIn/refreshToken").to_string();
    (h.identity.viewer(&access).unwrap(), access, refresh)
}

#[tokio::test]
async fn sign_up_activate_sign_in_and_read_me() {
    let h = Harness::new();
    let signed_up = h
        .gql(SIGN_UP)
        .vars(json!({"input": {"email": "  Ana@Example.COM ", "password": PASSWORD}}))
        .send()
        .await;
    let user_id = text(signed_up.ok(), "/signUp/userId").to_string();
    assert_eq!(signed_up.ok()["signUp"]["confirmationRequired"], true);
    // Emails compare case-insensitively: the account is ana@example.com.
    let mails = h
        .gql(MAILBOX)
        .vars(json!({"e": "ANA@example.com"}))
        .send()
        .await;
    assert_eq!(text(mails.ok(), "/devMailbox/0/to"), "ana@example.com");
    assert_eq!(
        text(mails.ok(), "/devMailbox/0/subject"),
        "Your mercado activation code"
    );

    // Before activation, the right password says "not confirmed".
    sign_in(&h, "ana@example.com", PASSWORD)
        .await
        .refused("FORBIDDEN", None);
    let code = code(&h, "ana@example.com").await;
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    h.gql(CONFIRM)
        .vars(json!({"e": "ana@example.com", "c": wrong}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("code"));
    for _ in 0..2 {
        let confirmed = h
            .gql(CONFIRM)
            .vars(json!({"e": "ana@example.com", "c": format!(" {code} ")}))
            .send()
            .await;
        assert_eq!(confirmed.ok()["confirmSignUp"], true);
    }

    let answer = sign_in(&h, "Ana@example.com", PASSWORD).await;
    let tokens = &answer.ok()["signIn"];
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(tokens["expiresIn"], 900);
    assert_eq!(tokens["idToken"], Value::Null);
    let access = tokens["accessToken"].as_str().unwrap();
    let viewer = h.identity.viewer(access).unwrap();
    let me = h
        .gql("{ me { id email roles } }")
        .by(&viewer)
        .token(access)
        .send()
        .await;
    assert_eq!(
        me.ok()["me"],
        json!({"id": user_id, "email": "ana@example.com", "roles": ["BUYER"]})
    );
}

#[tokio::test]
async fn sign_up_names_every_broken_rule() {
    let h = Harness::new();
    let both = h
        .gql(SIGN_UP)
        .vars(json!({"input": {"email": "not-an-email", "password": "short1"}}))
        .send()
        .await;
    both.refused("BAD_USER_INPUT", Some("input.email"));
    assert_eq!(both.violations(), ["input.email", "input.password"]);
    let long_email = format!("{}@example.com", "a".repeat(250));
    for (email, password, field) in [
        ("a@example.com", "onlylettershere", "input.password"),
        ("a@example.com", "1234567890123", "input.password"),
        ("a@example.com", &"a1".repeat(65), "input.password"),
        ("abc123@example.com", "ABC123@example.com", "input.password"),
        (long_email.as_str(), PASSWORD, "input.email"),
        ("a@b", PASSWORD, "input.email"),
    ] {
        h.gql(SIGN_UP)
            .vars(json!({"input": {"email": email, "password": password}}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    h.gql(SIGN_UP)
        .vars(json!({"input": {"email": "a@example.com", "password": PASSWORD, "roles": []}}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("input.roles"));
    // Nothing was registered by any of these.
    assert!(h.identity.roles("a@example.com").is_empty());
}

#[tokio::test]
async fn roles_default_to_buyer_and_an_email_registers_once() {
    let h = Harness::new();
    h.gql(SIGN_UP)
        .vars(json!({"input": {"email": "b@example.com", "password": PASSWORD}}))
        .send()
        .await
        .ok();
    assert_eq!(h.identity.roles("b@example.com"), [Role::Buyer]);
    h.gql(SIGN_UP)
        .vars(
            json!({"input": {"email": "s@example.com", "password": PASSWORD,
                                "roles": ["SELLER", "BUYER", "SELLER"]}}),
        )
        .send()
        .await
        .ok();
    assert_eq!(
        h.identity.roles("s@example.com"),
        [Role::Buyer, Role::Seller]
    );
    h.gql(SIGN_UP)
        .vars(json!({"input": {"email": "B@EXAMPLE.com", "password": PASSWORD}}))
        .send()
        .await
        .refused("CONFLICT", None);
}

#[tokio::test]
async fn activation_input_is_checked_and_reveals_no_account() {
    let h = Harness::new();
    for (email, code, field) in [
        ("nope", "123456", "email"),
        ("a@example.com", "   ", "code"),
        ("a@example.com", &"1".repeat(4097), "code"),
        // No such account: the same answer as a wrong code.
        ("nobody@example.com", "123456", "code"),
    ] {
        h.gql(CONFIRM)
            .vars(json!({"e": email, "c": code}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    h.gql(MAILBOX)
        .vars(json!({"e": "nope"}))
        .send()
        .await
        .refused("BAD_USER_INPUT", Some("email"));
    let empty = h
        .gql(MAILBOX)
        .vars(json!({"e": "nobody@example.com"}))
        .send()
        .await;
    assert_eq!(empty.ok()["devMailbox"], json!([]));
}

#[tokio::test]
async fn sign_in_refuses_alike_whatever_is_wrong() {
    let h = Harness::new();
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    let wrong = sign_in(&h, "ana@example.com", "wrong password 1").await;
    wrong.refused("UNAUTHENTICATED", None);
    let unknown = sign_in(&h, "nobody@example.com", PASSWORD).await;
    unknown.refused("UNAUTHENTICATED", None);
    assert_eq!(wrong.error()["message"], unknown.error()["message"]);
    assert_eq!(wrong.error()["message"], "wrong email or password");
    assert_eq!(h.throttle.checks(), 2);

    // Refused before the throttle is even asked: nothing to count.
    sign_in(&h, "ana@example.com", "")
        .await
        .refused("UNAUTHENTICATED", None);
    sign_in(&h, "ana@example.com", &"a1".repeat(65))
        .await
        .refused("UNAUTHENTICATED", None);
    sign_in(&h, "ana", PASSWORD)
        .await
        .refused("BAD_USER_INPUT", Some("email"));
    assert_eq!(h.throttle.checks(), 2);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_ends_the_session() {
    let h = Harness::new();
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    let (_, _, first) = session(&h, "ana@example.com").await;
    let rotated = h.gql(REFRESH).vars(json!({"t": first})).send().await;
    let second = text(rotated.ok(), "/refreshSession/refreshToken").to_string();
    assert_ne!(second, first);
    let access = text(rotated.ok(), "/refreshSession/accessToken");
    assert_eq!(
        h.identity.viewer(access).unwrap().email.as_deref(),
        Some("ana@example.com")
    );
    // The used token comes back: refused, and the whole session with it.
    h.gql(REFRESH)
        .vars(json!({"t": first}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.gql(REFRESH)
        .vars(json!({"t": second}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    for (token, field) in [
        (String::new(), "refreshToken"),
        ("x".repeat(4097), "refreshToken"),
    ] {
        h.gql(REFRESH)
            .vars(json!({"t": token}))
            .send()
            .await
            .refused("BAD_USER_INPUT", Some(field));
    }
    h.gql(REFRESH)
        .vars(json!({"t": "never-issued"}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
}

#[tokio::test]
async fn sign_out_ends_one_session_or_all_of_them() {
    let h = Harness::new();
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    h.gql(SIGN_OUT)
        .send()
        .await
        .refused("UNAUTHENTICATED", None);

    let (viewer, access, phone) = session(&h, "ana@example.com").await;
    let (_, _, laptop) = session(&h, "ana@example.com").await;
    let out = h
        .gql(SIGN_OUT)
        .by(&viewer)
        .token(&access)
        .vars(json!({"t": phone}))
        .send()
        .await;
    assert_eq!(out.ok()["signOut"], true);
    h.gql(REFRESH)
        .vars(json!({"t": phone}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    // The other session lives on.
    let laptop = h.gql(REFRESH).vars(json!({"t": laptop})).send().await;
    let laptop = text(laptop.ok(), "/refreshSession/refreshToken").to_string();
    // A refresh token that is not the caller's (or not one at all) is refused.
    h.gql(SIGN_OUT)
        .by(&viewer)
        .vars(json!({"t": "someone-elses"}))
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    // Without a token: every session ends.
    let (_, _, tablet) = session(&h, "ana@example.com").await;
    h.gql(SIGN_OUT).by(&viewer).send().await.ok();
    for token in [laptop, tablet] {
        h.gql(REFRESH)
            .vars(json!({"t": token}))
            .send()
            .await
            .refused("UNAUTHENTICATED", None);
    }
}

#[tokio::test]
async fn become_seller_grants_the_role_for_the_next_token() {
    let h = Harness::new();
    h.gql(BECOME_SELLER)
        .send()
        .await
        .refused("UNAUTHENTICATED", None);
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    let (viewer, _, refresh) = session(&h, "ana@example.com").await;
    let roles = h.gql(BECOME_SELLER).by(&viewer).send().await;
    assert_eq!(roles.ok()["becomeSeller"], json!(["BUYER", "SELLER"]));
    assert_eq!(
        h.identity.roles("ana@example.com"),
        [Role::Buyer, Role::Seller]
    );
    // The token in hand still says buyer; a refreshed one carries the new role.
    let me = h.gql("{ me { roles } }").by(&viewer).send().await;
    assert_eq!(me.ok()["me"]["roles"], json!(["BUYER"]));
    let refreshed = h.gql(REFRESH).vars(json!({"t": refresh})).send().await;
    let access = text(refreshed.ok(), "/refreshSession/accessToken");
    assert_eq!(
        h.identity.viewer(access).unwrap().roles,
        [Role::Buyer, Role::Seller]
    );
    // Asking again changes nothing.
    let already = user(&viewer.subject, &[Role::Buyer, Role::Seller]);
    let again = h.gql(BECOME_SELLER).by(&already).send().await;
    assert_eq!(again.ok()["becomeSeller"], json!(["BUYER", "SELLER"]));
    assert_eq!(
        h.identity.roles("ana@example.com"),
        [Role::Buyer, Role::Seller]
    );
}

#[tokio::test]
async fn an_external_issuer_supports_none_of_it() {
    let h = Setup {
        identity: FakeIdentity::external(),
        ..Setup::default()
    }
    .start();
    h.gql(SIGN_UP)
        .vars(json!({"input": {"email": "a@example.com", "password": PASSWORD}}))
        .send()
        .await
        .refused("NOT_SUPPORTED", None);
    h.gql(MAILBOX)
        .vars(json!({"e": "a@example.com"}))
        .send()
        .await
        .refused("NOT_SUPPORTED", None);
    h.gql(BECOME_SELLER)
        .by(&buyer("ana"))
        .send()
        .await
        .refused("NOT_SUPPORTED", None);
    sign_in(&h, "a@example.com", PASSWORD)
        .await
        .refused("NOT_SUPPORTED", None);
    // Not a wrong password: nothing counted against the account.
    assert_eq!(h.throttle.account_failures("a@example.com"), 0);
}

#[tokio::test]
async fn failures_count_per_account_and_address_and_success_clears_the_accounts() {
    let h = Harness::new();
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    for _ in 0..3 {
        sign_in(&h, "ana@example.com", "wrong password 1")
            .await
            .refused("UNAUTHENTICATED", None);
    }
    assert_eq!(h.throttle.account_failures("ana@example.com"), 3);
    assert_eq!(h.throttle.address_failures(ADDR), 3);
    sign_in(&h, "ana@example.com", PASSWORD).await.ok();
    assert_eq!(h.throttle.account_failures("ana@example.com"), 0);
    assert_eq!(h.throttle.address_failures(ADDR), 3);
}

#[tokio::test]
async fn an_unconfirmed_account_is_not_a_failed_attempt() {
    let h = Harness::new();
    h.gql(SIGN_UP)
        .vars(json!({"input": {"email": "ana@example.com", "password": PASSWORD}}))
        .send()
        .await
        .ok();
    sign_in(&h, "ana@example.com", PASSWORD)
        .await
        .refused("FORBIDDEN", None);
    assert_eq!(h.throttle.account_failures("ana@example.com"), 0);
}

#[tokio::test]
async fn a_locked_account_is_refused_from_anywhere_until_the_lock_ends() {
    let h = Harness::new();
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    h.throttle.fail_times("ana@example.com", ADDR, 10);
    for from in [ADDR, "203.0.113.5"] {
        let refused = h
            .gql(SIGN_IN)
            .from(from)
            .vars(json!({"e": "ana@example.com", "p": PASSWORD}))
            .send()
            .await;
        refused.refused("TOO_MANY_REQUESTS", None);
        assert_eq!(
            refused.error()["extensions"]["retryAfterSeconds"],
            LOCK_SECONDS
        );
    }
    // Refused without looking at the password: no new failure counted.
    assert_eq!(h.throttle.account_failures("ana@example.com"), 10);
    let past = u64::try_from(LOCK_SECONDS.max(WINDOW_SECONDS)).unwrap() + 1;
    h.throttle.advance(Duration::from_secs(past));
    sign_in(&h, "ana@example.com", PASSWORD).await.ok();
}

#[tokio::test]
async fn a_locked_address_is_refused_for_every_account() {
    let h = Harness::new();
    h.identity
        .account("ana@example.com", PASSWORD, &[Role::Buyer]);
    h.throttle.fail_times("mallory@example.com", ADDR, 50);
    let refused = sign_in(&h, "ana@example.com", PASSWORD).await;
    refused.refused("TOO_MANY_REQUESTS", None);
    assert_eq!(
        refused.error()["extensions"]["retryAfterSeconds"],
        LOCK_SECONDS
    );
    h.gql(SIGN_IN)
        .from("203.0.113.5")
        .vars(json!({"e": "ana@example.com", "p": PASSWORD}))
        .send()
        .await
        .ok();
}

/// Whether a sign-in answers within 300 ms (the first throttling delay is 1 s).
async fn answers_at_once(h: &Harness, email: &str) -> bool {
    tokio::time::timeout(
        Duration::from_millis(300),
        sign_in(h, email, "wrong password 1"),
    )
    .await
    .is_ok()
}

#[tokio::test]
async fn repeated_failures_slow_sign_in_down_before_locking_it() {
    let h = Harness::new();
    h.throttle.fail_times("ana@example.com", ADDR, 4);
    assert!(answers_at_once(&h, "ana@example.com").await);
    // That was the 5th failure: the next attempt waits.
    assert!(!answers_at_once(&h, "ana@example.com").await);
    // Per address: from 20 failures, any account from there waits.
    h.throttle
        .fail_times("mallory@example.com", "203.0.113.9", 20);
    let slowed = tokio::time::timeout(
        Duration::from_millis(300),
        h.gql(SIGN_IN)
            .from("203.0.113.9")
            .vars(json!({"e": "eve@example.com", "p": PASSWORD}))
            .send(),
    )
    .await;
    assert!(slowed.is_err());
    assert!(answers_at_once(&h, "eve@example.com").await);
}
