//! One typed configuration, read from environment variables (or the equivalent flags). Every
//! value is documented in the README's configuration table. The standard AWS variables
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials) are read by the AWS SDK itself.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};
use mercado_resolvers::edge::{EdgeGuard, EdgeLimits};

use crate::{StartupError, adapters::search::OpenSearchAuth};

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

/// A part of the server a process may run (`MERCADO_MODULES`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// The HTTP API: GraphQL (and its subscriptions), GraphiQL, the web client, images, REST.
    /// A process without it serves only `/healthz` and `/readyz`.
    Api,
    /// The outbox relay; with the in-process bus it also applies the events (projector,
    /// search index) as it publishes them.
    Relay,
    /// The bus consumers (`eventbridge`, `nats`): the catalog projector, the search index's
    /// feed, and image upload events.
    Consumer,
    /// The purchase saga runner (and hold expiry).
    Saga,
    /// The daily reconciler (one process at a time holds its lock).
    Reconciler,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::Api,
        Module::Relay,
        Module::Consumer,
        Module::Saga,
        Module::Reconciler,
    ];
}

/// Which engine serves `search`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchEngine {
    /// Tantivy, embedded: an index on this instance's disk, fed by every event.
    Tantivy,
    /// OpenSearch (Amazon OpenSearch Service): one index every instance shares
    /// (`MERCADO_OPENSEARCH_URL`).
    Opensearch,
    /// No search: `search` answers `UNAVAILABLE`.
    Off,
}

/// Which engine drives the purchase saga.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SagaEngine {
    /// The PostgreSQL runner: the `saga` module claims due orders and steps them.
    #[default]
    Runner,
    /// AWS Step Functions: the relay starts one Standard execution per order, the `saga`
    /// module answers its step tasks from `MERCADO_SAGA_QUEUE_URL`, and the runner only sweeps
    /// orders left unfinished (expired holds, failed or timed-out executions).
    Stepfunctions,
}

/// The purchase saga's engine and, for Step Functions, its state machine and step queue.
#[derive(Args, Clone, Debug, Default)]
pub struct SagaConfig {
    /// `runner` or `stepfunctions`.
    #[arg(
        long = "saga-engine",
        env = "MERCADO_SAGA_ENGINE",
        value_name = "MERCADO_SAGA_ENGINE",
        value_enum,
        default_value_t = SagaEngine::Runner
    )]
    pub engine: SagaEngine,
    /// The state machine executions start on (`mercado provision` prints it).
    #[arg(
        long = "saga-state-machine-arn",
        env = "MERCADO_SAGA_STATE_MACHINE_ARN",
        value_name = "MERCADO_SAGA_STATE_MACHINE_ARN"
    )]
    pub state_machine_arn: Option<String>,
    /// The SQS queue the state machine sends its step tasks to.
    #[arg(
        id = "saga_queue_url",
        long = "saga-queue-url",
        env = "MERCADO_SAGA_QUEUE_URL",
        value_name = "MERCADO_SAGA_QUEUE_URL"
    )]
    pub queue_url: Option<String>,
    /// How long a step task may go unanswered before Step Functions retries it (a lost
    /// message, a dead worker), in seconds.
    #[arg(
        long = "saga-task-timeout-seconds",
        env = "MERCADO_SAGA_TASK_TIMEOUT_SECONDS",
        value_name = "MERCADO_SAGA_TASK_TIMEOUT_SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(i64).range(1..=3600)
    )]
    pub task_timeout_seconds: i64,
    /// With `stepfunctions`: how long after its last change an unfinished order is left to its
    /// execution before the runner sweeps it to a terminal status, in seconds.
    #[arg(
        long = "saga-sweep-seconds",
        env = "MERCADO_SAGA_SWEEP_SECONDS",
        value_name = "MERCADO_SAGA_SWEEP_SECONDS",
        default_value_t = 600,
        value_parser = clap::value_parser!(i64).range(1..=86_400)
    )]
    pub sweep_seconds: i64,
}

impl SagaConfig {
    /// How long the runner leaves an order that just changed: 0 with the runner itself.
    pub fn sweep_after_seconds(&self) -> i64 {
        match self.engine {
            SagaEngine::Runner => 0,
            SagaEngine::Stepfunctions => self.sweep_seconds,
        }
    }
}

/// This machine's host name: the default instance id.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "mercado".into())
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
    /// Prefix of image URLs (`<prefix>/<key>`). The default, `/images`, is served by mercado
    /// itself from the private bucket; in production point it at a CDN whose origin is the
    /// bucket (CloudFront with origin access control), e.g. `https://images.example.com`.
    #[arg(
        long,
        env = "MERCADO_IMAGE_BASE_URL",
        value_name = "MERCADO_IMAGE_BASE_URL",
        default_value = "/images"
    )]
    pub image_base_url: String,
    /// Origins allowed to PUT to the bucket from a browser (its CORS rule, set by `provision`):
    /// comma-separated, `*` for any. The presigned URL is what authorises an upload.
    #[arg(
        long,
        env = "MERCADO_IMAGE_UPLOAD_ORIGINS",
        value_name = "MERCADO_IMAGE_UPLOAD_ORIGINS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub image_upload_origins: Vec<String>,
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

/// The GraphQL edge: what one request may cost, who may send how many, and how WebSockets
/// are bounded. Every value is in the README's Limits table.
#[derive(Args, Clone, Debug)]
pub struct EdgeConfig {
    /// Largest GraphQL document, in bytes (larger: 413 `DOCUMENT_TOO_LARGE`).
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_DOCUMENT_BYTES", value_name = "MERCADO_GRAPHQL_MAX_DOCUMENT_BYTES", default_value_t = EdgeLimits::DEFAULT.max_document_bytes)]
    pub max_document_bytes: usize,
    /// Most lexical tokens in a document.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_TOKENS", value_name = "MERCADO_GRAPHQL_MAX_TOKENS", default_value_t = EdgeLimits::DEFAULT.max_tokens)]
    pub max_tokens: usize,
    /// Deepest nesting of `{`, `[` and `(` in a document.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_NESTING", value_name = "MERCADO_GRAPHQL_MAX_NESTING", default_value_t = EdgeLimits::DEFAULT.max_nesting)]
    pub max_nesting: usize,
    /// Most fields, fragment spreads and inline fragments a document expands to.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_COMPLEXITY", value_name = "MERCADO_GRAPHQL_MAX_COMPLEXITY", default_value_t = EdgeLimits::DEFAULT.max_complexity)]
    pub max_complexity: usize,
    /// Most aliased fields a document expands to.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_ALIASES", value_name = "MERCADO_GRAPHQL_MAX_ALIASES", default_value_t = EdgeLimits::DEFAULT.max_aliases)]
    pub max_aliases: usize,
    /// Most directives on one field, fragment or operation.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_DIRECTIVES", value_name = "MERCADO_GRAPHQL_MAX_DIRECTIVES", default_value_t = EdgeLimits::DEFAULT.max_directives)]
    pub max_directives: usize,
    /// Deepest field nesting outside introspection.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_DEPTH", value_name = "MERCADO_GRAPHQL_MAX_DEPTH", default_value_t = EdgeLimits::DEFAULT.max_depth)]
    pub max_depth: usize,
    /// Deepest field nesting under `__schema` / `__type`.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_INTROSPECTION_DEPTH", value_name = "MERCADO_GRAPHQL_MAX_INTROSPECTION_DEPTH", default_value_t = EdgeLimits::DEFAULT.max_introspection_depth)]
    pub max_introspection_depth: usize,
    /// Time a query or mutation may run, in milliseconds (then `TIMEOUT`).
    #[arg(long, env = "MERCADO_GRAPHQL_TIMEOUT_MS", value_name = "MERCADO_GRAPHQL_TIMEOUT_MS", default_value_t = DEFAULT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// Whether the schema answers introspection (`__schema`, `__type`).
    #[arg(long, env = "MERCADO_GRAPHQL_INTROSPECTION", value_name = "MERCADO_GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Documents remembered for automatic persisted queries (0: APQ off).
    #[arg(long, env = "MERCADO_GRAPHQL_APQ_CACHE_ENTRIES", value_name = "MERCADO_GRAPHQL_APQ_CACHE_ENTRIES", default_value_t = EdgeLimits::DEFAULT.apq_cache_entries)]
    pub apq_cache_entries: usize,
    /// Trusted-documents manifest (JSON): when set, only its operations run.
    #[arg(
        long,
        env = "MERCADO_GRAPHQL_TRUSTED_DOCUMENTS",
        value_name = "MERCADO_GRAPHQL_TRUSTED_DOCUMENTS"
    )]
    pub trusted_documents: Option<PathBuf>,
    /// Most operations in one batched POST (a JSON array); 1 turns batching off.
    #[arg(long, env = "MERCADO_GRAPHQL_MAX_BATCH", value_name = "MERCADO_GRAPHQL_MAX_BATCH", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_batch: u32,
    /// Operations per second one client address may send to `/graphql` (0: no limit).
    #[arg(
        long,
        env = "MERCADO_RATE_LIMIT_PER_ADDRESS",
        value_name = "MERCADO_RATE_LIMIT_PER_ADDRESS",
        default_value_t = 100
    )]
    pub rate_per_address: u32,
    /// Operations one client address may send at once above its rate.
    #[arg(
        long,
        env = "MERCADO_RATE_LIMIT_ADDRESS_BURST",
        value_name = "MERCADO_RATE_LIMIT_ADDRESS_BURST",
        default_value_t = 200
    )]
    pub address_burst: u32,
    /// Operations per second one signed-in user may send to `/graphql` (0: no limit).
    #[arg(
        long,
        env = "MERCADO_RATE_LIMIT_PER_USER",
        value_name = "MERCADO_RATE_LIMIT_PER_USER",
        default_value_t = 30
    )]
    pub rate_per_user: u32,
    /// Operations one signed-in user may send at once above their rate.
    #[arg(
        long,
        env = "MERCADO_RATE_LIMIT_USER_BURST",
        value_name = "MERCADO_RATE_LIMIT_USER_BURST",
        default_value_t = 60
    )]
    pub user_burst: u32,
    /// Time a WebSocket has to send `connection_init`, in milliseconds (then close 4408).
    #[arg(long, env = "MERCADO_WS_INIT_TIMEOUT_MS", value_name = "MERCADO_WS_INIT_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub ws_init_timeout_ms: u64,
    /// Most subscriptions open at once on one WebSocket.
    #[arg(
        long,
        env = "MERCADO_WS_MAX_SUBSCRIPTIONS",
        value_name = "MERCADO_WS_MAX_SUBSCRIPTIONS",
        default_value_t = 20
    )]
    pub ws_max_subscriptions: usize,
    /// Most WebSockets open at once from one client address (0: no limit).
    #[arg(
        long,
        env = "MERCADO_WS_MAX_CONNECTIONS_PER_ADDRESS",
        value_name = "MERCADO_WS_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 100
    )]
    pub ws_max_connections_per_address: usize,
    /// Largest WebSocket message, in bytes.
    #[arg(long, env = "MERCADO_WS_MAX_MESSAGE_BYTES", value_name = "MERCADO_WS_MAX_MESSAGE_BYTES", default_value_t = 128 * 1024)]
    pub ws_max_message_bytes: usize,
}

/// [`EdgeConfig::timeout_ms`]'s default.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;

impl Default for EdgeConfig {
    /// The defaults the flags have (for tests and embedding).
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            edge: EdgeConfig,
        }
        // Parsing no arguments yields every default; environment variables still apply, as
        // they do to the server.
        Defaults::try_parse_from(["mercado"])
            .map(|d| d.edge)
            .unwrap_or_else(|e| panic!("EdgeConfig defaults do not parse: {e}"))
    }
}

impl EdgeConfig {
    pub fn limits(&self) -> EdgeLimits {
        EdgeLimits {
            max_document_bytes: self.max_document_bytes,
            max_tokens: self.max_tokens,
            max_nesting: self.max_nesting,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            max_directives: self.max_directives,
            max_depth: self.max_depth,
            max_introspection_depth: self.max_introspection_depth,
            timeout: Duration::from_millis(self.timeout_ms),
            introspection: self.introspection,
            apq_cache_entries: self.apq_cache_entries,
        }
    }

    /// The edge guard, with the trusted-documents manifest loaded and checked when one is set.
    pub fn guard(&self) -> Result<EdgeGuard, StartupError> {
        let limits = self.limits();
        let trusted = match &self.trusted_documents {
            None => None,
            Some(path) => {
                let json = std::fs::read_to_string(path).map_err(|e| {
                    StartupError::Config(format!(
                        "MERCADO_GRAPHQL_TRUSTED_DOCUMENTS: cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                let trusted = EdgeGuard::load_manifest(&limits, &json).map_err(|e| {
                    StartupError::Config(format!(
                        "MERCADO_GRAPHQL_TRUSTED_DOCUMENTS: {}: {e}",
                        path.display()
                    ))
                })?;
                tracing::info!(documents = trusted.len(), path = %path.display(), "trusted documents only");
                Some(trusted)
            }
        };
        Ok(EdgeGuard::new(limits, trusted))
    }
}

/// Where the `opensearch` search engine lives.
#[derive(Args, Clone, Debug)]
pub struct OpenSearchConfig {
    /// Base URL of the OpenSearch cluster or Amazon OpenSearch Service domain endpoint.
    #[arg(
        long,
        env = "MERCADO_OPENSEARCH_URL",
        value_name = "MERCADO_OPENSEARCH_URL"
    )]
    pub opensearch_url: Option<String>,
    /// The index mercado keeps its search documents in (created with its mapping at start).
    #[arg(
        long,
        env = "MERCADO_OPENSEARCH_INDEX",
        value_name = "MERCADO_OPENSEARCH_INDEX",
        default_value = "mercado-products"
    )]
    pub opensearch_index: String,
    /// `sigv4` (signed with the AWS credentials chain and region, for Amazon OpenSearch
    /// Service) or `none`.
    #[arg(long, env = "MERCADO_OPENSEARCH_AUTH", value_name = "MERCADO_OPENSEARCH_AUTH", value_enum, default_value_t = OpenSearchAuth::Sigv4)]
    pub opensearch_auth: OpenSearchAuth,
}

impl Default for OpenSearchConfig {
    fn default() -> Self {
        Self {
            opensearch_url: None,
            opensearch_index: "mercado-products".into(),
            opensearch_auth: OpenSearchAuth::Sigv4,
        }
    }
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
    /// Where `/metrics` is served instead of the main listener (e.g. `0.0.0.0:9090`, a port
    /// only the scraper reaches). Unset: on the main listener, beside `/graphql`.
    #[arg(
        long,
        env = "MERCADO_METRICS_ADDR",
        value_name = "MERCADO_METRICS_ADDR"
    )]
    pub metrics_addr: Option<SocketAddr>,
    /// The built web client (`npm --prefix web-client/app run build`), served at `/`.
    #[arg(
        long,
        env = "MERCADO_WEB_ROOT",
        value_name = "MERCADO_WEB_ROOT",
        default_value = "web-client/app/dist"
    )]
    pub web_root: std::path::PathBuf,
    /// Event bus: `inprocess`, `eventbridge` or `nats`.
    #[arg(long, env = "MERCADO_BUS", value_name = "MERCADO_BUS", value_enum, default_value_t = BusKind::Inprocess)]
    pub bus: BusKind,
    /// What this process runs, a comma list: `api`, `relay`, `consumer`, `saga`,
    /// `reconciler` (default: all). Any number of processes may run each.
    #[arg(
        long,
        env = "MERCADO_MODULES",
        value_name = "MERCADO_MODULES",
        value_enum,
        value_delimiter = ',',
        default_values_t = Module::ALL
    )]
    pub modules: Vec<Module>,
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
    /// The search engine: `tantivy` (embedded, the default), `opensearch` or `off`.
    #[arg(long, env = "MERCADO_SEARCH", value_name = "MERCADO_SEARCH", value_enum, default_value_t = SearchEngine::Tantivy)]
    pub search: SearchEngine,
    /// Directory of this instance's search index (one writer per directory: never share it).
    #[arg(
        long,
        env = "MERCADO_SEARCH_DIR",
        value_name = "MERCADO_SEARCH_DIR",
        default_value = ".mercado/search"
    )]
    pub search_dir: std::path::PathBuf,
    /// How often new search documents are committed (Tantivy) or refreshed (OpenSearch), that
    /// is made searchable, in milliseconds.
    #[arg(
        long,
        env = "MERCADO_SEARCH_COMMIT_MS",
        value_name = "MERCADO_SEARCH_COMMIT_MS",
        default_value_t = 200
    )]
    pub search_commit_ms: u64,
    /// SQS queue of the search feed (bus `eventbridge`): with Tantivy this instance's own (the
    /// shared projector queue gives each event to one instance only), with OpenSearch one that
    /// every worker instance shares; `provision` creates it and its rule.
    #[arg(
        long,
        env = "MERCADO_SEARCH_QUEUE_URL",
        value_name = "MERCADO_SEARCH_QUEUE_URL"
    )]
    pub search_queue_url: Option<String>,
    /// This instance's name (bus `nats`: its search feed is the durable consumer
    /// `<MERCADO_NATS_CONSUMER>-search-<id>`). Defaults to the host name.
    #[arg(long, env = "MERCADO_INSTANCE_ID", value_name = "MERCADO_INSTANCE_ID", default_value_t = host_name())]
    pub instance_id: String,
    /// How long an order's stock stays held before the order expires, in seconds.
    #[arg(
        long,
        env = "MERCADO_HOLD_TTL_SECONDS",
        value_name = "MERCADO_HOLD_TTL_SECONDS",
        default_value_t = 900,
        value_parser = clap::value_parser!(i64).range(1..=86_400)
    )]
    pub hold_ttl_seconds: i64,
    #[command(flatten)]
    pub saga: SagaConfig,
    /// Require a bearer token on the original REST endpoints.
    #[arg(
        long,
        env = "MERCADO_REST_REQUIRE_TOKEN",
        value_name = "MERCADO_REST_REQUIRE_TOKEN",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub rest_require_token: bool,
    /// Longest a catalog read waits for the versions its consistency tokens name, in
    /// milliseconds (0 to 10000); past it the read answers with `STALE_READ`.
    #[arg(
        long,
        env = "MERCADO_READ_WAIT_MS",
        value_name = "MERCADO_READ_WAIT_MS",
        default_value_t = 2_000,
        value_parser = clap::value_parser!(u64).range(0..=10_000)
    )]
    pub read_wait_ms: u64,
    /// Time in-flight requests get to finish after SIGTERM, in seconds; WebSockets are closed
    /// at once (1001). A second signal exits immediately.
    #[arg(
        long,
        env = "MERCADO_SHUTDOWN_GRACE_SECONDS",
        value_name = "MERCADO_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 10
    )]
    pub shutdown_grace_seconds: u64,
    #[command(flatten)]
    pub opensearch: OpenSearchConfig,
    #[command(flatten)]
    pub edge: EdgeConfig,
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
        if self.saga.engine == SagaEngine::Stepfunctions {
            if self.saga.state_machine_arn.is_none() {
                return Err(StartupError::Config(
                    "MERCADO_SAGA_STATE_MACHINE_ARN: required when MERCADO_SAGA_ENGINE=stepfunctions (mercado provision prints it)".into(),
                ));
            }
            if self.saga.queue_url.is_none() {
                return Err(StartupError::Config(
                    "MERCADO_SAGA_QUEUE_URL: required when MERCADO_SAGA_ENGINE=stepfunctions"
                        .into(),
                ));
            }
        }
        if self.bus == BusKind::Eventbridge && self.aws.queue_url.is_none() {
            return Err(StartupError::Config(
                "MERCADO_QUEUE_URL: required when MERCADO_BUS=eventbridge".into(),
            ));
        }
        if self.feeds_search()
            && self.bus == BusKind::Eventbridge
            && self.search_queue_url.is_none()
        {
            // The projector's queue hands each event to one instance: the index would miss
            // the rest and answer partial results without saying so.
            return Err(StartupError::Config(match self.search {
                SearchEngine::Opensearch => "MERCADO_SEARCH_QUEUE_URL: required when MERCADO_BUS=eventbridge and MERCADO_SEARCH=opensearch (the search feed's queue, shared by the worker instances), or set MERCADO_SEARCH=off".into(),
                _ => "MERCADO_SEARCH_QUEUE_URL: required when MERCADO_BUS=eventbridge and MERCADO_SEARCH=tantivy (a queue of this instance's own, so its index gets every event), or set MERCADO_SEARCH=off".into(),
            }));
        }
        if self.search == SearchEngine::Opensearch && self.opensearch.opensearch_url.is_none() {
            return Err(StartupError::Config(
                "MERCADO_OPENSEARCH_URL: required when MERCADO_SEARCH=opensearch".into(),
            ));
        }
        self.auth.validate()
    }

    pub fn nats_settings(&self) -> crate::adapters::bus::nats::NatsSettings {
        crate::adapters::bus::nats::NatsSettings {
            url: self.nats_url.clone(),
            stream: self.nats_stream.clone(),
            subject_prefix: self.nats_subject_prefix.clone(),
            consumer: self.nats_consumer.clone(),
            max_deliver: self.aws.max_receives,
            fetch_wait: Duration::from_secs(
                u64::try_from(self.sqs_wait_seconds.max(1)).unwrap_or(1),
            ),
            inactive_threshold: None,
        }
    }

    /// Whether this instance keeps a search index: with search on, and only where the
    /// workers run (the in-process bus feeds only the relaying instance, and an index that
    /// follows no events would answer stale results).
    /// Whether this process runs `module`.
    pub fn runs(&self, module: Module) -> bool {
        self.modules.contains(&module)
    }

    /// Whether this process applies events to the read models: the relay does with the
    /// in-process bus, the consumers with the others.
    pub fn applies_events(&self) -> bool {
        match self.bus {
            BusKind::Inprocess => self.runs(Module::Relay),
            BusKind::Eventbridge | BusKind::Nats => self.runs(Module::Consumer),
        }
    }

    /// Whether this instance answers `search`: every instance with OpenSearch (one shared
    /// index), only those that keep an index of their own with Tantivy.
    pub fn serves_search(&self) -> bool {
        match self.search {
            SearchEngine::Tantivy => self.applies_events(),
            SearchEngine::Opensearch => true,
            SearchEngine::Off => false,
        }
    }

    /// Whether this instance writes events into the search index.
    pub fn feeds_search(&self) -> bool {
        self.search != SearchEngine::Off && self.applies_events()
    }

    /// The search feed on JetStream. Tantivy: this instance's own consumer, every event apart
    /// from other instances (removed an hour after its instance is gone). OpenSearch: one
    /// durable consumer the worker instances share.
    pub fn search_nats_settings(&self) -> crate::adapters::bus::nats::NatsSettings {
        let mut settings = self.nats_settings();
        if self.search == SearchEngine::Opensearch {
            settings.consumer = format!("{}-search", self.nats_consumer);
        } else {
            settings.consumer = format!("{}-search-{}", self.nats_consumer, self.instance_id);
            settings.inactive_threshold = Some(Duration::from_secs(3600));
        }
        settings
    }

    pub fn read_wait(&self) -> Duration {
        Duration::from_millis(self.read_wait_ms)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        config: ServeConfig,
    }

    fn config(args: &[&str]) -> ServeConfig {
        let args = ["mercado", "--database-url", "postgres://db/mercado"]
            .iter()
            .chain(args);
        Serve::try_parse_from(args).unwrap().config
    }

    fn refusal(config: &ServeConfig) -> String {
        match config.validate() {
            Err(StartupError::Config(message)) => message,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn opensearch_is_served_by_every_instance_and_fed_by_the_workers_through_a_shared_feed() {
        let url = [
            "--search",
            "opensearch",
            "--opensearch-url",
            "https://search.example",
        ];
        let api = config(&[&url[..], &["--modules", "api"]].concat());
        assert!(api.validate().is_ok());
        assert!(api.serves_search() && !api.feeds_search());

        let worker = config(&url);
        assert!(worker.serves_search() && worker.feeds_search());
        assert_eq!(
            worker.search_nats_settings().consumer,
            "mercado-projector-search"
        );
        assert_eq!(worker.search_nats_settings().inactive_threshold, None);

        let tantivy = config(&["--instance-id", "a"]);
        assert_eq!(
            tantivy.search_nats_settings().consumer,
            "mercado-projector-search-a"
        );
        let quiet = config(&["--modules", "api,saga"]);
        assert!(!quiet.serves_search() && !quiet.feeds_search());
        // With a bus, the consumers apply the events (and so keep the index), not the relay.
        let consumer = config(&["--bus", "nats", "--modules", "consumer"]);
        assert!(consumer.serves_search() && consumer.feeds_search());
        let relay = config(&["--bus", "nats", "--modules", "relay"]);
        assert!(!relay.feeds_search());
        assert_eq!(config(&[]).modules, Module::ALL);
    }

    #[test]
    fn configurations_that_would_search_partially_or_nowhere_are_refused_by_name() {
        assert!(
            refusal(&config(&["--search", "opensearch"])).starts_with("MERCADO_OPENSEARCH_URL:")
        );
        let no_feed = config(&[
            "--search",
            "opensearch",
            "--opensearch-url",
            "https://search.example",
            "--bus",
            "eventbridge",
            "--queue-url",
            "http://sqs/q",
        ]);
        assert!(refusal(&no_feed).starts_with("MERCADO_SEARCH_QUEUE_URL:"));
        let no_own_queue = config(&["--bus", "eventbridge", "--queue-url", "http://sqs/q"]);
        assert!(refusal(&no_own_queue).contains("MERCADO_SEARCH=tantivy"));
    }
}
