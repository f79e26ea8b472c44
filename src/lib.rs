//! mercado server. `adapters` implement the resolvers' ports and the workers' (PostgreSQL,
//! DynamoDB, S3, the buses, identity providers); `workers` are the background loops (relay,
//! projector, consumers, saga, reconciler); `http` is the axum surface; `app` reads the
//! configuration, wires adapters into the server, and holds the CLI.

pub mod adapters;
pub mod app;
pub mod events;
pub mod http;
pub mod workers;

/// mimalloc for every binary that links the server (the tests and benchmarks too): a GraphQL
/// request allocates a great deal (documents, values, JSON), and glibc's malloc and free took
/// a fifth of the CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Why the server (or a subcommand) could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("postgres: {0}")]
    Postgres(String),
    #[error("aws: {0}")]
    Aws(String),
    #[error("auth: {0}")]
    Auth(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// `reconcile --check` found the read model different from PostgreSQL.
    #[error("the read model differs from PostgreSQL in {0} items")]
    Drift(usize),
}
