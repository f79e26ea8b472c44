//! Integration tests against the real local stack (PostgreSQL, the local AWS-API server, NATS,
//! Chromium), in one binary: each suite is a module, so a build links the AWS SDKs once.
//!
//!     scripts/test --test it                  # every suite
//!     scripts/test --test it walking_skeleton # one suite (a name filter)

mod common;

mod auth_profiles;
mod bench_graphql;
mod bench_lag;
mod bench_saga;
mod bench_writes;
mod browser;
mod catalog_sync;
mod chaos;
mod edge;
mod inventory;
mod live_catalog;
mod modules;
mod purchases;
mod search;
mod telemetry;
mod walking_skeleton;
mod websocket;
