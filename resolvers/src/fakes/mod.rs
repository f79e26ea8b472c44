//! In-memory fakes of the ports, for fast tests that need no database or AWS endpoint: each
//! keeps the behaviour its port documents (idempotency, conditional transitions, version
//! guards) so that rules tested over a fake hold over the real adapter. Compiled for this
//! crate's tests and, with the `fakes` feature, for the server's.

mod auth;
mod catalog;
pub mod documents;
mod images;
mod inventory;
mod orders;
mod profiles;
mod purchases;

pub use auth::{FakeIdentity, FakeThrottle};
pub use catalog::{FakeCatalog, sample_product};
pub use images::FakeImages;
pub use inventory::{Emitted, FakeInventory, HoldStatus, Movement};
pub use orders::FakeOrders;
pub use profiles::FakeProfiles;
pub use purchases::{FakeGateway, FakeSagaStore, FakeStock};

use crate::StoreError;

/// What every fake answers when a lock was poisoned by a panicking test thread.
fn poisoned() -> StoreError {
    StoreError::Internal("fake lock poisoned".into())
}
