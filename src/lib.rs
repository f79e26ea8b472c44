//! mercado server: configuration, HTTP (axum), auth, the adapters that implement the resolvers'
//! ports (PostgreSQL, DynamoDB, the buses) and the background workers.

pub mod auth;
pub mod aws;
pub mod bus;
pub mod cli;
pub mod components;
pub mod config;
pub mod demo;
pub mod dynamo;
pub mod events;
pub mod http;
pub mod postgres;
pub mod s3;
pub mod server;
pub mod workers;

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
}
