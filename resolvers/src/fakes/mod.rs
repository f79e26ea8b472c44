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
mod search;

pub use auth::{FakeIdentity, FakeThrottle};
pub use catalog::{FakeCatalog, sample_product};
pub use images::FakeImages;
pub use inventory::{Emitted, FakeInventory, HoldStatus, Movement};
pub use orders::FakeOrders;
pub use profiles::FakeProfiles;
pub use purchases::{FakeGateway, FakeSagaStore, FakeStock};
pub use search::FakeSearch;

use chrono::{DateTime, Utc};

use crate::StoreError;

/// Hands out the time, each strictly after the previous (as a database's commit order is), so
/// listings "newest first" are certain however fast a test writes.
#[derive(Default)]
struct Clock(Option<DateTime<Utc>>);

impl Clock {
    fn tick(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let at = match self.0 {
            Some(last) if now <= last => last + chrono::Duration::microseconds(1),
            _ => now,
        };
        self.0 = Some(at);
        at
    }
}

/// What every fake answers when a lock was poisoned by a panicking test thread.
fn poisoned() -> StoreError {
    StoreError::Internal("fake lock poisoned".into())
}
