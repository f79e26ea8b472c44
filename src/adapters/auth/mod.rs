//! Bearer-token verification. Identity only: who the caller is and which roles the token
//! grants. An invalid token is always an error, never an anonymous caller.

mod cognito;
mod local_issuer;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

pub use crate::adapters::postgres::LocalIdentity;
pub use cognito::CognitoIdentity;
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{Jwk, JwkSet},
};
pub use local_issuer::LocalIssuer;
use mercado_resolvers::auth::{AuthFailure, IdentityProvider, SignUpOutcome};
use mercado_resolvers::{Role, Viewer};
use tokio::sync::RwLock;

use crate::{
    StartupError,
    app::config::{AuthConfig, AuthMode},
};

/// A verified token: the caller, and when the token stops being valid (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub viewer: Viewer,
    pub expires_at: i64,
}

/// Clock skew tolerated on `exp`/`nbf`.
const LEEWAY_SECONDS: u64 = 30;
/// A token naming an unknown key triggers a JWKS refetch at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Asymmetric algorithms only: a shared-secret token cannot be forged from a public key.
const ALLOWED: &[Algorithm] = &[
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("malformed bearer token: {0}")]
    Malformed(String),
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("token rejected: {0}")]
    Invalid(String),
}

enum KeySource {
    Fixed,
    Url {
        url: String,
        http: reqwest::Client,
        last_fetch: tokio::sync::Mutex<Option<Instant>>,
    },
}

/// Verifies tokens against a key set (the local issuer's, a JWKS file, or a JWKS URL).
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    roles_claim: String,
    keys: RwLock<HashMap<String, (DecodingKey, Algorithm)>>,
    source: KeySource,
    /// The embedded issuer, in local mode (it also publishes `/.well-known/jwks.json`).
    local: Option<LocalIssuer>,
    /// With Cognito: where emails come from (its access tokens carry none).
    emails: Option<CognitoEmails>,
}

/// Emails of Cognito users by subject, asked of the user pool (`GetUser` with the caller's
/// own access token: no admin rights needed) once per subject and remembered.
struct CognitoEmails {
    client: aws_sdk_cognitoidentityprovider::Client,
    known: std::sync::Mutex<lru::LruCache<String, String>>,
}

impl CognitoEmails {
    const REMEMBERED: std::num::NonZeroUsize =
        std::num::NonZeroUsize::new(10_000).expect("not zero");

    /// The email of the token's user; `None` when the pool does not answer (the caller's
    /// `me.email` is then null, nothing else fails).
    async fn email(&self, subject: &str, token: &str) -> Option<String> {
        if let Some(email) = self.known.lock().ok()?.get(subject) {
            return Some(email.clone());
        }
        let user = match self.client.get_user().access_token(token).send().await {
            Ok(user) => user,
            Err(e) => {
                tracing::debug!(error = %e, "Cognito GetUser failed; no email for this request");
                return None;
            }
        };
        let email = user
            .user_attributes()
            .iter()
            .find(|a| a.name() == "email")
            .and_then(|a| a.value())?
            .to_string();
        self.known
            .lock()
            .ok()?
            .put(subject.to_string(), email.clone());
        Some(email)
    }
}

impl TokenVerifier {
    pub async fn from_config(
        config: &AuthConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, StartupError> {
        config.validate()?;
        match config.auth {
            AuthMode::Cognito => {
                let pool = config.cognito_user_pool_id.clone().unwrap_or_default();
                let client_id = config.cognito_client_id.clone().unwrap_or_default();
                let region = sdk.region().map(ToString::to_string).unwrap_or_default();
                let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool}");
                // A local AWS-API server (AWS_ENDPOINT_URL) serves the pool's keys itself.
                let keys_at = match sdk.endpoint_url() {
                    Some(endpoint) => format!("{}/{pool}", endpoint.trim_end_matches('/')),
                    None => issuer.clone(),
                };
                let url = config
                    .jwks_url
                    .clone()
                    .unwrap_or_else(|| format!("{keys_at}/.well-known/jwks.json"));
                let rules = AuthConfig {
                    jwt_issuer: issuer,
                    jwt_audience: client_id,
                    jwt_roles_claim: "cognito:groups".into(),
                    ..config.clone()
                };
                let mut verifier = Self::from_url(&rules, url).await?;
                verifier.emails = Some(CognitoEmails {
                    client: aws_sdk_cognitoidentityprovider::Client::new(sdk),
                    known: std::sync::Mutex::new(lru::LruCache::new(CognitoEmails::REMEMBERED)),
                });
                Ok(verifier)
            }
            AuthMode::Local => {
                let issuer = LocalIssuer::load_or_create(
                    &config.data_dir,
                    &config.jwt_issuer,
                    &config.jwt_audience,
                    &config.jwt_roles_claim,
                )?;
                let jwks = issuer.jwks();
                let mut verifier = Self::new(config, index_keys(&jwks), KeySource::Fixed);
                verifier.local = Some(issuer);
                Ok(verifier)
            }
            AuthMode::Oidc => {
                if let Some(path) = &config.jwks_file {
                    let raw = std::fs::read(path).map_err(|e| {
                        StartupError::Config(format!("MERCADO_JWKS_FILE: {}: {e}", path.display()))
                    })?;
                    let jwks: JwkSet = serde_json::from_slice(&raw).map_err(|e| {
                        StartupError::Config(format!("MERCADO_JWKS_FILE: not a JWKS: {e}"))
                    })?;
                    return Ok(Self::new(config, index_keys(&jwks), KeySource::Fixed));
                }
                Self::from_url(config, config.jwks_url.clone().unwrap_or_default()).await
            }
        }
    }

    async fn from_url(config: &AuthConfig, url: String) -> Result<Self, StartupError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StartupError::Auth(e.to_string()))?;
        let jwks = fetch_jwks(&http, &url)
            .await
            .map_err(|e| StartupError::Config(format!("MERCADO_JWKS_URL: {e}")))?;
        let source = KeySource::Url {
            url,
            http,
            last_fetch: tokio::sync::Mutex::new(Some(Instant::now())),
        };
        Ok(Self::new(config, index_keys(&jwks), source))
    }

    fn new(
        config: &AuthConfig,
        keys: HashMap<String, (DecodingKey, Algorithm)>,
        source: KeySource,
    ) -> Self {
        Self {
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            roles_claim: config.jwt_roles_claim.clone(),
            keys: RwLock::new(keys),
            source,
            local: None,
            emails: None,
        }
    }

    pub fn local_issuer(&self) -> Option<&LocalIssuer> {
        self.local.as_ref()
    }

    /// Verifies a bearer token (signature, algorithm, expiry, issuer, audience).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(AuthError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Malformed("no kid in header".into()))?;
        let (key, alg) = self.key(&kid).await?;
        if alg != header.alg {
            return Err(AuthError::Invalid(
                "algorithm does not match the key".into(),
            ));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[&self.issuer]);
        // Checked below: Cognito access tokens carry `client_id` instead of `aud`.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => *a == self.audience,
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => claims.get("client_id").and_then(|c| c.as_str()) == Some(self.audience.as_str()),
        };
        if !audience_ok {
            return Err(AuthError::Invalid("token is for another audience".into()));
        }
        let expires_at = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        let subject = claims
            .get("sub")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuthError::Invalid("no subject".into()))?
            .to_string();
        let roles = match claims.get(&self.roles_claim) {
            Some(serde_json::Value::Array(values)) => values
                .iter()
                .filter_map(|v| v.as_str().and_then(Role::parse))
                .collect(),
            Some(serde_json::Value::String(s)) => {
                s.split_whitespace().filter_map(Role::parse).collect()
            }
            _ => Vec::new(),
        };
        let mut email = claims
            .get("email")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if let (None, Some(emails)) = (&email, &self.emails) {
            email = emails.email(&subject, token).await;
        }
        Ok(VerifiedToken {
            viewer: Viewer {
                subject,
                roles,
                email,
            },
            expires_at,
        })
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), AuthError> {
        if let Some(found) = self.keys.read().await.get(kid) {
            return Ok(found.clone());
        }
        // Unknown kid: the issuer may have rotated its keys. Refetch, but not on every request.
        let KeySource::Url {
            url,
            http,
            last_fetch,
        } = &self.source
        else {
            return Err(AuthError::UnknownKey);
        };
        let mut last = last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH_INTERVAL) {
            return Err(AuthError::UnknownKey);
        }
        *last = Some(Instant::now());
        match fetch_jwks(http, url).await {
            Ok(jwks) => *self.keys.write().await = index_keys(&jwks),
            Err(e) => tracing::warn!(error = %e, "JWKS refetch failed"),
        }
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or(AuthError::UnknownKey)
    }
}

async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
    http.get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("fetch {url}: {e}"))?
        .json::<JwkSet>()
        .await
        .map_err(|e| format!("{url} is not a JWKS: {e}"))
}

/// Keys by `kid`, each with the one algorithm it may verify.
fn index_keys(jwks: &JwkSet) -> HashMap<String, (DecodingKey, Algorithm)> {
    jwks.keys
        .iter()
        .filter_map(|jwk: &Jwk| {
            let kid = jwk.common.key_id.clone()?;
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok())
                .or(match &jwk.algorithm {
                    jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_) => {
                        Some(Algorithm::EdDSA)
                    }
                    jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
                    _ => None,
                })?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, (key, alg)))
        })
        .collect()
}

/// The identity provider for `config`: sign-up, sign-in and sessions.
pub fn identity_provider(
    config: &AuthConfig,
    sdk: &aws_config::SdkConfig,
    pool: &sqlx::PgPool,
    verifier: &TokenVerifier,
) -> std::sync::Arc<dyn IdentityProvider> {
    match config.auth {
        AuthMode::Local => match verifier.local_issuer() {
            Some(issuer) => std::sync::Arc::new(LocalIdentity::new(
                pool.clone(),
                issuer.clone(),
                config.access_token_ttl_seconds,
            )),
            None => std::sync::Arc::new(ExternalIssuer),
        },
        AuthMode::Cognito => std::sync::Arc::new(CognitoIdentity::new(
            aws_sdk_cognitoidentityprovider::Client::new(sdk),
            config.cognito_user_pool_id.clone().unwrap_or_default(),
            config.cognito_client_id.clone().unwrap_or_default(),
        )),
        AuthMode::Oidc => std::sync::Arc::new(ExternalIssuer),
    }
}

/// An external OIDC issuer: users sign up and in there; mercado only verifies its tokens.
pub struct ExternalIssuer;

fn external() -> AuthFailure {
    AuthFailure::NotSupported(
        "sign-up and sign-in happen at the configured OIDC issuer (MERCADO_AUTH=oidc)".into(),
    )
}

#[async_trait::async_trait]
impl IdentityProvider for ExternalIssuer {
    fn name(&self) -> &'static str {
        "oidc"
    }
    async fn sign_up(&self, _: &str, _: &str, _: &[Role]) -> Result<SignUpOutcome, AuthFailure> {
        Err(external())
    }
    async fn confirm_sign_up(&self, _: &str, _: &str) -> Result<(), AuthFailure> {
        Err(external())
    }
    async fn sign_in(
        &self,
        _: &str,
        _: &str,
    ) -> Result<mercado_resolvers::auth::Session, AuthFailure> {
        Err(external())
    }
    async fn refresh_session(
        &self,
        _: &str,
    ) -> Result<mercado_resolvers::auth::Session, AuthFailure> {
        Err(external())
    }
    async fn sign_out(&self, _: &Viewer, _: &str, _: Option<&str>) -> Result<(), AuthFailure> {
        Err(external())
    }
    async fn add_role(&self, _: &Viewer, _: Role) -> Result<(), AuthFailure> {
        Err(AuthFailure::NotSupported(
            "roles are granted at the configured OIDC issuer".into(),
        ))
    }
}
