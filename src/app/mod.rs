//! The application: configuration (`config`), wiring adapters into ports (`adapters`), the
//! running server (`server`), the CLI (`cli`) and the demo seed (`demo`).

pub mod adapters;
pub mod cli;
pub mod config;
pub mod demo;
pub mod server;
pub mod telemetry;
