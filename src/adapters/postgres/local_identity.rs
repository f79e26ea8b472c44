//! The embedded identity provider: accounts in PostgreSQL with argon2id password hashes,
//! activation codes delivered to a development mailbox, tokens signed by the local issuer, and
//! rotating, revocable refresh tokens stored hashed.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use async_trait::async_trait;
use aws_lc_rs::{constant_time, digest, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mercado_resolvers::{
    Role, Viewer,
    auth::{AuthFailure, IdentityProvider, Mail, Session, SignUpOutcome},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::adapters::auth::LocalIssuer;

/// Activation codes stay valid this long.
const ACTIVATION_HOURS: i64 = 24;
/// Refresh tokens stay valid this long (each use rotates them).
const REFRESH_DAYS: i64 = 30;
/// Mailbox messages returned by `devMailbox`.
const MAILBOX_LIMIT: i64 = 20;

pub struct LocalIdentity {
    pool: PgPool,
    issuer: LocalIssuer,
    access_ttl_seconds: i64,
}

/// A refresh token with its account, as a refresh reads it.
#[derive(sqlx::FromRow)]
struct RefreshRow {
    user_id: Uuid,
    family: Uuid,
    rotated: bool,
    revoked: bool,
    expired: bool,
    email: String,
    roles: Vec<String>,
}

fn db(e: sqlx::Error) -> AuthFailure {
    AuthFailure::Unavailable(format!("postgres: {e}"))
}

fn sha256(value: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, value.as_bytes())
        .as_ref()
        .to_vec()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AuthFailure> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AuthFailure::Internal("no randomness".into()))?;
    Ok(bytes)
}

/// Argon2id is deliberately slow: keep it off the async workers.
async fn hash_password(password: String) -> Result<String, AuthFailure> {
    let salt_bytes = random_bytes::<16>()?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| AuthFailure::Internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthFailure::Internal(format!("hash password: {e}")))
    })
    .await
    .map_err(|e| AuthFailure::Internal(e.to_string()))?
}

async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Hash compared against when the email is unknown, so both cases cost the same time.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn roles_from_db(roles: &[String]) -> Vec<Role> {
    roles.iter().filter_map(|r| Role::parse(r)).collect()
}

impl LocalIdentity {
    pub fn new(pool: PgPool, issuer: LocalIssuer, access_ttl_seconds: i64) -> Self {
        Self {
            pool,
            issuer,
            access_ttl_seconds,
        }
    }

    /// Access token plus a new refresh token in `family`.
    #[tracing::instrument(name = "pg.session", skip_all, fields(db.system.name = "postgresql"))]
    async fn session(
        &self,
        tx: &mut sqlx::PgConnection,
        user_id: Uuid,
        email: &str,
        roles: &[Role],
        family: Uuid,
    ) -> Result<Session, AuthFailure> {
        let access = self
            .issuer
            .issue_with_email(
                &user_id.to_string(),
                Some(email),
                roles,
                self.access_ttl_seconds,
            )
            .map_err(AuthFailure::Internal)?;
        let refresh = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(days => $4))",
        )
        .bind(sha256(&refresh))
        .bind(user_id)
        .bind(family)
        .bind(i32::try_from(REFRESH_DAYS).unwrap_or(30))
        .execute(tx)
        .await
        .map_err(db)?;
        Ok(Session {
            access_token: access,
            id_token: None,
            refresh_token: Some(refresh),
            expires_in_seconds: self.access_ttl_seconds,
        })
    }
}

#[async_trait]
impl IdentityProvider for LocalIdentity {
    fn name(&self) -> &'static str {
        "local"
    }

    #[tracing::instrument(name = "pg.sign_up", skip_all, fields(db.system.name = "postgresql"))]
    async fn sign_up(
        &self,
        email: &str,
        password: &str,
        roles: &[Role],
    ) -> Result<SignUpOutcome, AuthFailure> {
        let hash = hash_password(password.to_string()).await?;
        let code = format!(
            "{:06}",
            u32::from_be_bytes(random_bytes::<4>()?) % 1_000_000
        );
        let id = Uuid::new_v4();
        let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, password_hash, roles, activation_code_hash,
                                activation_expires_at)
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(id)
        .bind(email)
        .bind(&hash)
        .bind(&role_names)
        .bind(sha256(&code))
        .bind(i32::try_from(ACTIVATION_HOURS).unwrap_or(24))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if inserted.rows_affected() == 0 {
            return Err(AuthFailure::AlreadyExists);
        }
        sqlx::query("INSERT INTO dev_mailbox (recipient, subject, body) VALUES ($1, $2, $3)")
            .bind(email)
            .bind("Your mercado activation code")
            .bind(format!(
                "Your activation code is {code}. It expires in {ACTIVATION_HOURS} hours."
            ))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::info!(%email, %code, "activation code sent to the development mailbox");
        Ok(SignUpOutcome {
            user_id: id.to_string(),
            confirmation_required: true,
        })
    }

    #[tracing::instrument(name = "pg.confirm_sign_up", skip_all, fields(db.system.name = "postgresql"))]
    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), AuthFailure> {
        let row: Option<(Option<Vec<u8>>, bool, bool)> = sqlx::query_as(
            "SELECT activation_code_hash, confirmed_at IS NOT NULL,
                    coalesce(activation_expires_at < now(), true)
             FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some((stored, confirmed, expired)) = row else {
            return Err(AuthFailure::BadCode);
        };
        if confirmed {
            return Ok(());
        }
        let matches = stored
            .is_some_and(|s| constant_time::verify_slices_are_equal(&s, &sha256(code)).is_ok());
        if !matches || expired {
            return Err(AuthFailure::BadCode);
        }
        sqlx::query(
            "UPDATE users SET confirmed_at = now(), activation_code_hash = NULL,
                              activation_expires_at = NULL
             WHERE email = $1",
        )
        .bind(email)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.sign_in", skip_all, fields(db.system.name = "postgresql"))]
    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, AuthFailure> {
        let row: Option<(Uuid, String, Vec<String>, bool)> = sqlx::query_as(
            "SELECT id, password_hash, roles, confirmed_at IS NOT NULL FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some((id, hash, roles, confirmed)) = row else {
            let dummy = match DUMMY_HASH.get() {
                Some(h) => h.clone(),
                None => {
                    let h = hash_password("not-a-real-password-0".into()).await?;
                    DUMMY_HASH.get_or_init(|| h).clone()
                }
            };
            verify_password(password.to_string(), dummy).await;
            return Err(AuthFailure::BadCredentials);
        };
        if !verify_password(password.to_string(), hash).await {
            return Err(AuthFailure::BadCredentials);
        }
        // Said only after the password matched, so it reveals nothing to a guesser.
        if !confirmed {
            return Err(AuthFailure::NotConfirmed);
        }
        let mut conn = self.pool.acquire().await.map_err(db)?;
        self.session(&mut conn, id, email, &roles_from_db(&roles), Uuid::new_v4())
            .await
    }

    #[tracing::instrument(name = "pg.refresh_session", skip_all, fields(db.system.name = "postgresql"))]
    async fn refresh_session(&self, refresh_token: &str) -> Result<Session, AuthFailure> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT t.user_id, t.family, t.rotated_at IS NOT NULL AS rotated,
                    t.revoked_at IS NOT NULL AS revoked, t.expires_at < now() AS expired,
                    u.email, u.roles
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1
             FOR UPDATE OF t",
        )
        .bind(sha256(refresh_token))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(RefreshRow {
            user_id,
            family,
            rotated,
            revoked,
            expired,
            email,
            roles,
        }) = row
        else {
            return Err(AuthFailure::BadRefreshToken);
        };
        if rotated && !revoked {
            // A used token came back: someone else holds a copy. End the whole session.
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
            )
            .bind(family)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            tracing::warn!(%user_id, %family, "refresh token reused; session revoked");
            return Err(AuthFailure::BadRefreshToken);
        }
        if revoked || expired {
            return Err(AuthFailure::BadRefreshToken);
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1")
            .bind(sha256(refresh_token))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let session = self
            .session(&mut tx, user_id, &email, &roles_from_db(&roles), family)
            .await?;
        tx.commit().await.map_err(db)?;
        Ok(session)
    }

    #[tracing::instrument(name = "pg.sign_out", skip_all, fields(db.system.name = "postgresql"))]
    async fn sign_out(
        &self,
        viewer: &Viewer,
        _access_token: &str,
        refresh_token: Option<&str>,
    ) -> Result<(), AuthFailure> {
        let user_id = Uuid::parse_str(&viewer.subject)
            .map_err(|_| AuthFailure::NotSupported("not a local account".into()))?;
        let revoked = match refresh_token {
            Some(token) => sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = now()
                 WHERE family = (SELECT family FROM refresh_tokens
                                 WHERE token_hash = $1 AND user_id = $2)
                   AND revoked_at IS NULL",
            )
            .bind(sha256(token))
            .bind(user_id),
            None => sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = now()
                 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id),
        }
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if refresh_token.is_some() && revoked.rows_affected() == 0 {
            return Err(AuthFailure::BadRefreshToken);
        }
        Ok(())
    }

    #[tracing::instrument(name = "pg.add_role", skip_all, fields(db.system.name = "postgresql"))]
    async fn add_role(&self, viewer: &Viewer, role: Role) -> Result<(), AuthFailure> {
        let user_id = Uuid::parse_str(&viewer.subject)
            .map_err(|_| AuthFailure::NotSupported("not a local account".into()))?;
        sqlx::query(
            "UPDATE users SET roles = array_append(roles, $2)
             WHERE id = $1 AND NOT ($2 = ANY (roles))",
        )
        .bind(user_id)
        .bind(role.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.dev_mailbox", skip_all, fields(db.system.name = "postgresql"))]
    async fn dev_mailbox(&self, email: &str) -> Option<Result<Vec<Mail>, AuthFailure>> {
        let rows: Result<Vec<(String, String, String, chrono::DateTime<chrono::Utc>)>, _> =
            sqlx::query_as(
                "SELECT recipient, subject, body, sent_at FROM dev_mailbox
                 WHERE recipient = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(email)
            .bind(MAILBOX_LIMIT)
            .fetch_all(&self.pool)
            .await;
        Some(rows.map_err(db).map(|rows| {
            rows.into_iter()
                .map(|(to, subject, body, sent_at)| Mail {
                    to,
                    subject,
                    body,
                    sent_at,
                })
                .collect()
        }))
    }
}
