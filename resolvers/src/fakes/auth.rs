//! Identity and sign-in throttling in memory.
//!
//! [`FakeIdentity`] behaves as the embedded local provider: an activation code lands in the
//! development mailbox, sign-in works once it is confirmed (and says "not confirmed" only after
//! the password matched), refresh tokens rotate on every use and replaying a used one revokes
//! its whole session. [`FakeIdentity::external`] behaves as the OIDC verification-only
//! provider instead. Passwords are kept in clear: this is a fake.
//!
//! [`FakeThrottle`] keeps the documented policy (the crate's own [`decide`] over per-account
//! and per-address counts in a sliding window, locks of [`LOCK_SECONDS`]) on a clock that tests
//! can move forward instead of sleeping.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::poisoned;
use crate::{
    Role, StoreError, Viewer,
    auth::{
        ACCOUNT_LOCK_AFTER, ADDRESS_LOCK_AFTER, AuthFailure, IdentityProvider, LOCK_SECONDS, Mail,
        Session, SignInThrottle, SignUpOutcome, ThrottleDecision, WINDOW_SECONDS, decide,
    },
};

/// Lifetime the fake claims for its access tokens (the local provider's default).
pub const ACCESS_TTL_SECONDS: i64 = 900;
/// Mailbox messages returned, newest first (as the local provider).
const MAILBOX_LIMIT: usize = 20;

struct Account {
    id: Uuid,
    password: String,
    roles: Vec<Role>,
    confirmed: bool,
    code: String,
}

struct RefreshToken {
    user: Uuid,
    family: Uuid,
    rotated: bool,
    revoked: bool,
}

#[derive(Default)]
struct IdentityInner {
    /// By normalised email.
    accounts: HashMap<String, Account>,
    mailbox: Vec<Mail>,
    refresh: HashMap<String, RefreshToken>,
    /// Every access token issued, with the caller it proves.
    access: HashMap<String, Viewer>,
    issued: u64,
}

impl IdentityInner {
    fn next(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!("{prefix}-{}-{}", self.issued, Uuid::new_v4().simple())
    }

    fn session(&mut self, email: &str, family: Uuid) -> Result<Session, AuthFailure> {
        let (id, roles) = self
            .accounts
            .get(email)
            .map(|a| (a.id, a.roles.clone()))
            .ok_or(AuthFailure::BadRefreshToken)?;
        let access = self.next("access");
        let refresh = self.next("refresh");
        self.access.insert(
            access.clone(),
            Viewer {
                subject: id.to_string(),
                roles,
                email: Some(email.to_string()),
            },
        );
        self.refresh.insert(
            refresh.clone(),
            RefreshToken {
                user: id,
                family,
                rotated: false,
                revoked: false,
            },
        );
        Ok(Session {
            access_token: access,
            id_token: None,
            refresh_token: Some(refresh),
            expires_in_seconds: ACCESS_TTL_SECONDS,
        })
    }

    fn email_of(&self, user: Uuid) -> Option<String> {
        self.accounts
            .iter()
            .find(|(_, a)| a.id == user)
            .map(|(email, _)| email.clone())
    }
}

fn locked() -> AuthFailure {
    AuthFailure::Internal("fake lock poisoned".into())
}

/// Accounts, the development mailbox and sessions in memory.
#[derive(Default)]
pub struct FakeIdentity {
    inner: Mutex<IdentityInner>,
    /// Behaves as the OIDC verification-only provider: every operation is `NotSupported`.
    external: bool,
}

fn external_failure() -> AuthFailure {
    AuthFailure::NotSupported(
        "sign-up and sign-in happen at the configured OIDC issuer (MERCADO_AUTH=oidc)".into(),
    )
}

impl FakeIdentity {
    /// A provider that only verifies tokens issued elsewhere (`MERCADO_AUTH=oidc`).
    pub fn external() -> Self {
        Self {
            inner: Mutex::default(),
            external: true,
        }
    }

    /// A confirmed account, ready to sign in; returns its user id.
    pub fn account(&self, email: &str, password: &str, roles: &[Role]) -> String {
        let id = Uuid::new_v4();
        if let Ok(mut inner) = self.inner.lock() {
            inner.accounts.insert(
                email.to_string(),
                Account {
                    id,
                    password: password.to_string(),
                    roles: roles.to_vec(),
                    confirmed: true,
                    code: String::new(),
                },
            );
        }
        id.to_string()
    }

    /// The caller an access token proves, as the server's verifier would find it.
    pub fn viewer(&self, access_token: &str) -> Option<Viewer> {
        self.inner.lock().ok()?.access.get(access_token).cloned()
    }

    /// The roles an account holds now.
    pub fn roles(&self, email: &str) -> Vec<Role> {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.accounts.get(email).map(|a| a.roles.clone()))
            .unwrap_or_default()
    }

    fn check_local(&self) -> Result<(), AuthFailure> {
        if self.external {
            Err(external_failure())
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl IdentityProvider for FakeIdentity {
    fn name(&self) -> &'static str {
        if self.external { "oidc" } else { "local" }
    }

    async fn sign_up(
        &self,
        email: &str,
        password: &str,
        roles: &[Role],
    ) -> Result<SignUpOutcome, AuthFailure> {
        self.check_local()?;
        let mut inner = self.inner.lock().map_err(|_| locked())?;
        if inner.accounts.contains_key(email) {
            return Err(AuthFailure::AlreadyExists);
        }
        let id = Uuid::new_v4();
        // Six digits, as the local provider sends.
        let code = format!("{:06}", id.as_u128() % 1_000_000);
        inner.mailbox.push(Mail {
            to: email.to_string(),
            subject: "Your mercado activation code".into(),
            body: format!("Your activation code is {code}. It expires in 24 hours."),
            sent_at: Utc::now(),
        });
        inner.accounts.insert(
            email.to_string(),
            Account {
                id,
                password: password.to_string(),
                roles: roles.to_vec(),
                confirmed: false,
                code,
            },
        );
        Ok(SignUpOutcome {
            user_id: id.to_string(),
            confirmation_required: true,
        })
    }

    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), AuthFailure> {
        self.check_local()?;
        let mut inner = self.inner.lock().map_err(|_| locked())?;
        let account = inner.accounts.get_mut(email).ok_or(AuthFailure::BadCode)?;
        if account.confirmed {
            return Ok(());
        }
        if account.code != code {
            return Err(AuthFailure::BadCode);
        }
        account.confirmed = true;
        account.code.clear();
        Ok(())
    }

    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, AuthFailure> {
        self.check_local()?;
        let mut inner = self.inner.lock().map_err(|_| locked())?;
        let account = inner
            .accounts
            .get(email)
            .filter(|a| a.password == password)
            .ok_or(AuthFailure::BadCredentials)?;
        // Said only after the password matched, so it reveals nothing to a guesser.
        if !account.confirmed {
            return Err(AuthFailure::NotConfirmed);
        }
        inner.session(email, Uuid::new_v4())
    }

    async fn refresh_session(&self, refresh_token: &str) -> Result<Session, AuthFailure> {
        self.check_local()?;
        let mut inner = self.inner.lock().map_err(|_| locked())?;
        let token = inner
            .refresh
            .get_mut(refresh_token)
            .ok_or(AuthFailure::BadRefreshToken)?;
        let (user, family) = (token.user, token.family);
        if token.rotated && !token.revoked {
            // A used token came back: someone else holds a copy. End the whole session.
            for t in inner.refresh.values_mut().filter(|t| t.family == family) {
                t.revoked = true;
            }
            return Err(AuthFailure::BadRefreshToken);
        }
        if token.revoked {
            return Err(AuthFailure::BadRefreshToken);
        }
        token.rotated = true;
        let email = inner.email_of(user).ok_or(AuthFailure::BadRefreshToken)?;
        inner.session(&email, family)
    }

    async fn sign_out(
        &self,
        viewer: &Viewer,
        _access_token: &str,
        refresh_token: Option<&str>,
    ) -> Result<(), AuthFailure> {
        self.check_local()?;
        let user = Uuid::parse_str(&viewer.subject)
            .map_err(|_| AuthFailure::NotSupported("not a local account".into()))?;
        let mut inner = self.inner.lock().map_err(|_| locked())?;
        match refresh_token {
            Some(raw) => {
                let family = inner
                    .refresh
                    .get(raw)
                    .filter(|t| t.user == user)
                    .map(|t| t.family);
                let mut revoked = 0;
                for t in inner
                    .refresh
                    .values_mut()
                    .filter(|t| Some(t.family) == family && !t.revoked)
                {
                    t.revoked = true;
                    revoked += 1;
                }
                if revoked == 0 {
                    return Err(AuthFailure::BadRefreshToken);
                }
            }
            None => {
                for t in inner.refresh.values_mut().filter(|t| t.user == user) {
                    t.revoked = true;
                }
            }
        }
        Ok(())
    }

    async fn add_role(&self, viewer: &Viewer, role: Role) -> Result<(), AuthFailure> {
        if self.external {
            return Err(AuthFailure::NotSupported(
                "roles are granted at the configured OIDC issuer".into(),
            ));
        }
        let user = Uuid::parse_str(&viewer.subject)
            .map_err(|_| AuthFailure::NotSupported("not a local account".into()))?;
        let mut inner = self.inner.lock().map_err(|_| locked())?;
        if let Some(account) = inner.accounts.values_mut().find(|a| a.id == user)
            && !account.roles.contains(&role)
        {
            account.roles.push(role);
        }
        Ok(())
    }

    async fn dev_mailbox(&self, email: &str) -> Option<Result<Vec<Mail>, AuthFailure>> {
        if self.external {
            return None;
        }
        Some(self.inner.lock().map_err(|_| locked()).map(|inner| {
            inner
                .mailbox
                .iter()
                .rev()
                .filter(|m| m.to == email)
                .take(MAILBOX_LIMIT)
                .cloned()
                .collect()
        }))
    }
}

/// Failures of one key (an account or an address) in the current window.
struct Count {
    failures: i64,
    window_started: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct ThrottleInner {
    counts: HashMap<String, Count>,
    /// How far the fake clock runs ahead of the real one.
    skew: Duration,
    checks: u64,
}

impl ThrottleInner {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.skew
    }

    /// (failures within the window, seconds of lock remaining).
    fn state(&self, key: &str) -> (i64, Option<i64>) {
        let now = self.now();
        let Some(count) = self.counts.get(key) else {
            return (0, None);
        };
        let failures = if now - count.window_started < Duration::seconds(WINDOW_SECONDS) {
            count.failures
        } else {
            0
        };
        let lock = count
            .locked_until
            .map(|until| until - now)
            .filter(|left| *left > Duration::zero())
            .map(|left| (left.num_milliseconds() + 999) / 1000);
        (failures, lock)
    }

    fn fail(&mut self, key: String, lock_after: i64) {
        let now = self.now();
        let count = self.counts.entry(key).or_insert(Count {
            failures: 0,
            window_started: now,
            locked_until: None,
        });
        if now - count.window_started >= Duration::seconds(WINDOW_SECONDS) {
            count.failures = 0;
            count.window_started = now;
        }
        count.failures += 1;
        if count.failures >= lock_after {
            count.locked_until = Some(now + Duration::seconds(LOCK_SECONDS));
        }
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// Sign-in failure counts per account and per client address, on a movable clock.
#[derive(Default)]
pub struct FakeThrottle {
    inner: Mutex<ThrottleInner>,
}

impl FakeThrottle {
    /// Records `n` failed attempts on `account` from `address` (to reach a threshold without
    /// waiting through the delays before it).
    pub fn fail_times(&self, account: &str, address: &str, n: usize) {
        if let Ok(mut inner) = self.inner.lock() {
            for _ in 0..n {
                inner.fail(account_key(account), ACCOUNT_LOCK_AFTER);
                inner.fail(address_key(address), ADDRESS_LOCK_AFTER);
            }
        }
    }

    /// Moves the throttle's clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.skew += Duration::from_std(by).unwrap_or_default();
        }
    }

    /// Failures counted for `account` in the current window.
    pub fn account_failures(&self, account: &str) -> i64 {
        self.inner
            .lock()
            .map(|i| i.state(&account_key(account)).0)
            .unwrap_or_default()
    }

    /// Failures counted for `address` in the current window.
    pub fn address_failures(&self, address: &str) -> i64 {
        self.inner
            .lock()
            .map(|i| i.state(&address_key(address)).0)
            .unwrap_or_default()
    }

    /// `check` calls so far.
    pub fn checks(&self) -> u64 {
        self.inner.lock().map(|i| i.checks).unwrap_or_default()
    }
}

#[async_trait]
impl SignInThrottle for FakeThrottle {
    async fn check(&self, account: &str, address: &str) -> Result<ThrottleDecision, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        inner.checks += 1;
        let (account_failures, account_lock) = inner.state(&account_key(account));
        let (address_failures, address_lock) = inner.state(&address_key(address));
        Ok(decide(
            account_failures,
            account_lock,
            address_failures,
            address_lock,
        ))
    }

    async fn record_failure(&self, account: &str, address: &str) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        inner.fail(account_key(account), ACCOUNT_LOCK_AFTER);
        inner.fail(address_key(address), ADDRESS_LOCK_AFTER);
        Ok(())
    }

    async fn record_success(&self, account: &str) -> Result<(), StoreError> {
        self.inner
            .lock()
            .map_err(|_| poisoned())?
            .counts
            .remove(&account_key(account));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn refresh_tokens_rotate_and_a_replay_revokes_the_session() {
        let identity = FakeIdentity::default();
        identity.account("a@example.com", "password123", &[Role::Buyer]);
        let first = identity
            .sign_in("a@example.com", "password123")
            .await
            .unwrap();
        let old = first.refresh_token.unwrap();
        let second = identity.refresh_session(&old).await.unwrap();
        let new = second.refresh_token.unwrap();
        assert_ne!(old, new);
        assert_eq!(
            identity.refresh_session(&old).await,
            Err(AuthFailure::BadRefreshToken)
        );
        // The replay revoked the whole family, the newest token included.
        assert_eq!(
            identity.refresh_session(&new).await,
            Err(AuthFailure::BadRefreshToken)
        );
    }

    #[tokio::test]
    async fn locks_last_their_full_length_and_windows_slide() {
        let throttle = FakeThrottle::default();
        throttle.fail_times("a", "ip", 4);
        assert_eq!(
            throttle.check("a", "ip").await.unwrap(),
            ThrottleDecision::Allow
        );
        throttle.fail_times("a", "ip", 6);
        assert_eq!(
            throttle.check("a", "ip").await.unwrap(),
            ThrottleDecision::Refuse {
                retry_after_seconds: LOCK_SECONDS
            }
        );
        throttle.advance(std::time::Duration::from_secs(
            u64::try_from(LOCK_SECONDS).unwrap() - 60,
        ));
        assert_eq!(
            throttle.check("a", "ip").await.unwrap(),
            ThrottleDecision::Refuse {
                retry_after_seconds: 60
            }
        );
        throttle.advance(std::time::Duration::from_secs(61));
        assert_eq!(
            throttle.check("a", "ip").await.unwrap(),
            ThrottleDecision::Allow
        );
        assert_eq!(throttle.account_failures("a"), 0);
    }
}
