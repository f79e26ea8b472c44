//! One typed configuration, read from environment variables (or the equivalent flags). Every
//! value is documented in the README's configuration table. The standard AWS variables
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials) are read by the AWS SDK itself.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

use crate::StartupError;

/// Where the outbox relay sends events.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusKind {
    /// The relay hands events straight to the projector in this process.
    Inprocess,
    /// Amazon EventBridge → rule → SQS → projector.
    Eventbridge,
    /// NATS JetStream: a stream and a durable pull consumer.
    Nats,
}

/// Which identity provider signs users up and in, and whose tokens are trusted.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// The embedded provider: users in PostgreSQL, tokens signed by a key generated on first
    /// start and kept in the data dir.
    Local,
    /// Amazon Cognito user pool (sign-up, activation, sign-in, refresh, groups as roles).
    Cognito,
    /// Any OIDC issuer (Zitadel, Keycloak…): verification only, by its JWKS.
    Oidc,
}

#[derive(Args, Clone, Debug)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL (the source of truth).
    #[arg(long, env = "DATABASE_URL", value_name = "DATABASE_URL")]
    pub database_url: String,
    /// Largest number of pooled PostgreSQL connections.
    #[arg(
        long,
        env = "MERCADO_DB_MAX_CONNECTIONS",
        value_name = "MERCADO_DB_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub db_max_connections: u32,
}

#[derive(Args, Clone, Debug)]
pub struct AwsConfig {
    /// DynamoDB table holding the catalog read model.
    #[arg(
        long,
        env = "MERCADO_CATALOG_TABLE",
        value_name = "MERCADO_CATALOG_TABLE",
        default_value = "mercado-catalog"
    )]
    pub catalog_table: String,
    /// EventBridge bus the relay publishes to (bus `eventbridge`).
    #[arg(
        long,
        env = "MERCADO_EVENT_BUS_NAME",
        value_name = "MERCADO_EVENT_BUS_NAME",
        default_value = "mercado-events"
    )]
    pub event_bus_name: String,
    /// DynamoDB table of user profiles.
    #[arg(
        long,
        env = "MERCADO_PROFILES_TABLE",
        value_name = "MERCADO_PROFILES_TABLE",
        default_value = "mercado-profiles"
    )]
    pub profiles_table: String,
    /// Deliveries of one message before it is dead-lettered (SQS redrive) or terminated (NATS).
    #[arg(
        long,
        env = "MERCADO_MAX_RECEIVES",
        value_name = "MERCADO_MAX_RECEIVES",
        default_value_t = 5,
        value_parser = clap::value_parser!(i64).range(1..=1000)
    )]
    pub max_receives: i64,
    /// SQS queue the projector consumes (bus `eventbridge`); `provision` creates it under the
    /// name in the URL's last segment.
    #[arg(long, env = "MERCADO_QUEUE_URL", value_name = "MERCADO_QUEUE_URL")]
    pub queue_url: Option<String>,
}

#[derive(Args, Clone, Debug)]
pub struct ImagesConfig {
    /// S3 bucket that receives product images.
    #[arg(
        long,
        env = "MERCADO_IMAGES_BUCKET",
        value_name = "MERCADO_IMAGES_BUCKET",
        default_value = "mercado-images"
    )]
    pub images_bucket: String,
    /// SQS queue receiving the bucket's object-created notifications; without it, uploads
    /// are not noticed by this instance.
    #[arg(
        long,
        env = "MERCADO_IMAGE_QUEUE_URL",
        value_name = "MERCADO_IMAGE_QUEUE_URL"
    )]
    pub image_queue_url: Option<String>,
    /// Largest image upload, in bytes.
    #[arg(
        long,
        env = "MERCADO_IMAGE_MAX_BYTES",
        value_name = "MERCADO_IMAGE_MAX_BYTES",
        default_value_t = 5 * 1024 * 1024
    )]
    pub image_max_bytes: i64,
    /// Lifetime of upload URLs, in seconds (at most 900).
    #[arg(
        long,
        env = "MERCADO_IMAGE_URL_TTL_SECONDS",
        value_name = "MERCADO_IMAGE_URL_TTL_SECONDS",
        default_value_t = 900,
        value_parser = clap::value_parser!(u64).range(1..=900)
    )]
    pub image_url_ttl_seconds: u64,
    /// Prefix of public image URLs; defaults to the bucket's S3 URL (path-style under
    /// AWS_ENDPOINT_URL when that is set).
    #[arg(
        long,
        env = "MERCADO_IMAGE_BASE_URL",
        value_name = "MERCADO_IMAGE_BASE_URL"
    )]
    pub image_base_url: Option<String>,
}

impl ImagesConfig {
    pub fn base_url(&self, sdk: &aws_config::SdkConfig) -> String {
        if let Some(base) = &self.image_base_url {
            return base.clone();
        }
        match sdk.endpoint_url() {
            Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), self.images_bucket),
            None => format!("https://{}.s3.amazonaws.com", self.images_bucket),
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct AuthConfig {
    /// Identity provider: `local`, `cognito` or `oidc`.
    #[arg(long, env = "MERCADO_AUTH", value_name = "MERCADO_AUTH", value_enum, default_value_t = AuthMode::Local)]
    pub auth: AuthMode,
    /// Expected `iss` claim (and the issuer the local mode signs as). Derived from the pool
    /// with `cognito`.
    #[arg(
        long,
        env = "MERCADO_JWT_ISSUER",
        value_name = "MERCADO_JWT_ISSUER",
        default_value = "mercado-local"
    )]
    pub jwt_issuer: String,
    /// Expected `aud` (or Cognito `client_id`) claim. The app client id with `cognito`.
    #[arg(
        long,
        env = "MERCADO_JWT_AUDIENCE",
        value_name = "MERCADO_JWT_AUDIENCE",
        default_value = "mercado"
    )]
    pub jwt_audience: String,
    /// Claim holding the roles (an array, or a space-separated string); `cognito:groups`
    /// with `cognito`.
    #[arg(
        long,
        env = "MERCADO_JWT_ROLES_CLAIM",
        value_name = "MERCADO_JWT_ROLES_CLAIM",
        default_value = "roles"
    )]
    pub jwt_roles_claim: String,
    /// JWKS URL (`oidc`, or to override Cognito's); refetched when a token names an unknown
    /// key.
    #[arg(long, env = "MERCADO_JWKS_URL", value_name = "MERCADO_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// JWKS file (`oidc`), instead of a URL.
    #[arg(long, env = "MERCADO_JWKS_FILE", value_name = "MERCADO_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// Cognito user pool id (`cognito`); `provision` creates a pool and prints it.
    #[arg(
        long,
        env = "MERCADO_COGNITO_USER_POOL_ID",
        value_name = "MERCADO_COGNITO_USER_POOL_ID"
    )]
    pub cognito_user_pool_id: Option<String>,
    /// Cognito app client id (`cognito`): a public client allowing USER_PASSWORD_AUTH.
    #[arg(
        long,
        env = "MERCADO_COGNITO_CLIENT_ID",
        value_name = "MERCADO_COGNITO_CLIENT_ID"
    )]
    pub cognito_client_id: Option<String>,
    /// Lifetime of access tokens the local provider issues, in seconds.
    #[arg(
        long,
        env = "MERCADO_ACCESS_TOKEN_TTL_SECONDS",
        value_name = "MERCADO_ACCESS_TOKEN_TTL_SECONDS",
        default_value_t = 900
    )]
    pub access_token_ttl_seconds: i64,
    /// Directory for local state: the local mode's signing key.
    #[arg(
        long,
        env = "MERCADO_DATA_DIR",
        value_name = "MERCADO_DATA_DIR",
        default_value = ".mercado"
    )]
    pub data_dir: PathBuf,
}

#[derive(Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "MERCADO_LISTEN_ADDR",
        value_name = "MERCADO_LISTEN_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    pub listen_addr: SocketAddr,
    /// Event bus: `inprocess` or `eventbridge`.
    #[arg(long, env = "MERCADO_BUS", value_name = "MERCADO_BUS", value_enum, default_value_t = BusKind::Inprocess)]
    pub bus: BusKind,
    /// Whether this instance runs the background workers (relay, consumer).
    #[arg(
        long,
        env = "MERCADO_RUN_WORKERS",
        value_name = "MERCADO_RUN_WORKERS",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub run_workers: bool,
    /// Outbox polling fallback, in milliseconds, when no NOTIFY arrives.
    #[arg(
        long,
        env = "MERCADO_RELAY_POLL_MS",
        value_name = "MERCADO_RELAY_POLL_MS",
        default_value_t = 1000
    )]
    pub relay_poll_ms: u64,
    /// Outbox rows claimed per relay batch.
    #[arg(
        long,
        env = "MERCADO_RELAY_BATCH",
        value_name = "MERCADO_RELAY_BATCH",
        default_value_t = 100
    )]
    pub relay_batch: u32,
    /// SQS long-poll wait, in seconds (0 to 20).
    #[arg(
        long,
        env = "MERCADO_SQS_WAIT_SECONDS",
        value_name = "MERCADO_SQS_WAIT_SECONDS",
        default_value_t = 20,
        value_parser = clap::value_parser!(i32).range(0..=20)
    )]
    pub sqs_wait_seconds: i32,
    /// Seconds between reconciler passes (the daily repair of the read model).
    #[arg(
        long,
        env = "MERCADO_RECONCILE_INTERVAL_SECONDS",
        value_name = "MERCADO_RECONCILE_INTERVAL_SECONDS",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(60..)
    )]
    pub reconcile_interval_seconds: u64,
    /// NATS server URL (bus `nats`).
    #[arg(
        long,
        env = "MERCADO_NATS_URL",
        value_name = "MERCADO_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// JetStream stream holding mercado's events (bus `nats`).
    #[arg(
        long,
        env = "MERCADO_NATS_STREAM",
        value_name = "MERCADO_NATS_STREAM",
        default_value = "MERCADO_EVENTS"
    )]
    pub nats_stream: String,
    /// Subject prefix: events go to `<prefix>.<type>` (bus `nats`).
    #[arg(
        long,
        env = "MERCADO_NATS_SUBJECT_PREFIX",
        value_name = "MERCADO_NATS_SUBJECT_PREFIX",
        default_value = "mercado.events"
    )]
    pub nats_subject_prefix: String,
    /// Durable consumer name of the projector (bus `nats`).
    #[arg(
        long,
        env = "MERCADO_NATS_CONSUMER",
        value_name = "MERCADO_NATS_CONSUMER",
        default_value = "mercado-projector"
    )]
    pub nats_consumer: String,
    /// How long an order's stock stays held before the order expires, in seconds.
    #[arg(
        long,
        env = "MERCADO_HOLD_TTL_SECONDS",
        value_name = "MERCADO_HOLD_TTL_SECONDS",
        default_value_t = 900,
        value_parser = clap::value_parser!(i64).range(1..=86_400)
    )]
    pub hold_ttl_seconds: i64,
    /// Require a bearer token on the original REST endpoints.
    #[arg(
        long,
        env = "MERCADO_REST_REQUIRE_TOKEN",
        value_name = "MERCADO_REST_REQUIRE_TOKEN",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub rest_require_token: bool,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub aws: AwsConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub images: ImagesConfig,
}

impl ServeConfig {
    /// Rules that span several values; each error names the variable to fix.
    pub fn validate(&self) -> Result<(), StartupError> {
        if self.bus == BusKind::Eventbridge && self.aws.queue_url.is_none() {
            return Err(StartupError::Config(
                "MERCADO_QUEUE_URL: required when MERCADO_BUS=eventbridge".into(),
            ));
        }
        self.auth.validate()
    }

    pub fn nats_settings(&self) -> crate::bus::nats::NatsSettings {
        crate::bus::nats::NatsSettings {
            url: self.nats_url.clone(),
            stream: self.nats_stream.clone(),
            subject_prefix: self.nats_subject_prefix.clone(),
            consumer: self.nats_consumer.clone(),
            max_deliver: self.aws.max_receives,
            fetch_wait: Duration::from_secs(
                u64::try_from(self.sqs_wait_seconds.max(1)).unwrap_or(1),
            ),
        }
    }

    pub fn relay_poll(&self) -> Duration {
        Duration::from_millis(self.relay_poll_ms.max(10))
    }
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), StartupError> {
        match self.auth {
            AuthMode::Oidc if self.jwks_url.is_none() && self.jwks_file.is_none() => {
                Err(StartupError::Config(
                    "MERCADO_JWKS_URL: required (or MERCADO_JWKS_FILE) when MERCADO_AUTH=oidc"
                        .into(),
                ))
            }
            AuthMode::Cognito if self.cognito_user_pool_id.is_none() => Err(StartupError::Config(
                "MERCADO_COGNITO_USER_POOL_ID: required when MERCADO_AUTH=cognito".into(),
            )),
            AuthMode::Cognito if self.cognito_client_id.is_none() => Err(StartupError::Config(
                "MERCADO_COGNITO_CLIENT_ID: required when MERCADO_AUTH=cognito".into(),
            )),
            _ if !(60..=86_400).contains(&self.access_token_ttl_seconds) => {
                Err(StartupError::Config(
                    "MERCADO_ACCESS_TOKEN_TTL_SECONDS: must be between 60 and 86400".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}
