//! The application: configuration (`config`), wiring adapters into one set of components
//! (`components`), the running server (`server`), the CLI (`cli`) and the demo seed (`demo`).

pub mod cli;
pub mod components;
pub mod config;
pub mod demo;
pub mod server;
