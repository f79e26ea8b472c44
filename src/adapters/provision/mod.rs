//! Provisioning: everything `mercado provision` (and the tests' harness) creates in AWS or its
//! local stand-in, in one place. Every step is idempotent: it finds what exists and creates
//! what is missing.

mod cognito;
mod events;
mod images;
mod saga;
mod tables;

pub use cognito::provision_cognito;
pub use events::{ensure_queue, ensure_queue_with_dlq, provision_event_route};
pub use images::provision_images;
pub use saga::{definition as saga_definition, provision_saga};
pub use tables::{provision_catalog_table, provision_profiles_table};
