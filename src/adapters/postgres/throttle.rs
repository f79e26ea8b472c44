//! Sign-in failure counts in PostgreSQL, so every server instance applies the same limits.

use async_trait::async_trait;
use mercado_resolvers::{
    StoreError,
    auth::{
        ACCOUNT_LOCK_AFTER, ADDRESS_LOCK_AFTER, LOCK_SECONDS, SignInThrottle, ThrottleDecision,
        WINDOW_SECONDS, decide,
    },
};
use sqlx::PgPool;

use super::store_error;

pub struct PgSignInThrottle {
    pool: PgPool,
}

impl PgSignInThrottle {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// (failures within the window, seconds of lock remaining).
    #[tracing::instrument(name = "pg.state", skip_all, fields(db.system.name = "postgresql"))]
    async fn state(&self, key: &str) -> Result<(i64, Option<i64>), StoreError> {
        // Failures count within their window only; a lock lasts its own 15 minutes even when
        // the window it was earned in has passed.
        let row: Option<(i32, Option<f64>)> = sqlx::query_as(
            "SELECT CASE WHEN window_started > now() - make_interval(secs => $2)
                         THEN failures ELSE 0 END,
                    extract(epoch FROM locked_until - now())::float8
             FROM sign_in_failures
             WHERE key = $1",
        )
        .bind(key)
        .bind(WINDOW_SECONDS as f64)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(match row {
            None => (0, None),
            Some((failures, lock)) => (
                i64::from(failures),
                lock.filter(|s| *s > 0.0).map(|s| s.ceil() as i64),
            ),
        })
    }

    #[tracing::instrument(name = "pg.fail", skip_all, fields(db.system.name = "postgresql"))]
    async fn fail(&self, key: &str, lock_after: i64) -> Result<(), StoreError> {
        // One statement: a new window starts when the old one has passed.
        sqlx::query(
            "INSERT INTO sign_in_failures AS f (key, failures, window_started)
             VALUES ($1, 1, now())
             ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN f.window_started > now() - make_interval(secs => $2)
                               THEN f.failures + 1 ELSE 1 END,
               window_started = CASE WHEN f.window_started > now() - make_interval(secs => $2)
                                     THEN f.window_started ELSE now() END,
               locked_until = CASE WHEN f.window_started > now() - make_interval(secs => $2)
                                        AND f.failures + 1 >= $3
                                   THEN now() + make_interval(secs => $4) ELSE f.locked_until END",
        )
        .bind(key)
        .bind(WINDOW_SECONDS as f64)
        .bind(i32::try_from(lock_after).unwrap_or(i32::MAX))
        .bind(LOCK_SECONDS as f64)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[async_trait]
impl SignInThrottle for PgSignInThrottle {
    #[tracing::instrument(name = "pg.check", skip_all, fields(db.system.name = "postgresql"))]
    async fn check(&self, account: &str, address: &str) -> Result<ThrottleDecision, StoreError> {
        let (account_failures, account_lock) = self.state(&account_key(account)).await?;
        let (address_failures, address_lock) = self.state(&address_key(address)).await?;
        Ok(decide(
            account_failures,
            account_lock,
            address_failures,
            address_lock,
        ))
    }

    #[tracing::instrument(name = "pg.record_failure", skip_all, fields(db.system.name = "postgresql"))]
    async fn record_failure(&self, account: &str, address: &str) -> Result<(), StoreError> {
        self.fail(&account_key(account), ACCOUNT_LOCK_AFTER).await?;
        self.fail(&address_key(address), ADDRESS_LOCK_AFTER).await
    }

    #[tracing::instrument(name = "pg.record_success", skip_all, fields(db.system.name = "postgresql"))]
    async fn record_success(&self, account: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(account_key(account))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
