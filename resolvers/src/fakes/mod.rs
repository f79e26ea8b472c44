//! In-memory fakes of the ports, for fast tests that need no database or AWS endpoint: each
//! keeps the behaviour its port documents (idempotency, conditional transitions, version
//! guards) so that rules tested over a fake hold over the real adapter. Compiled for this
//! crate's tests and, with the `fakes` feature, for the server's.

mod purchases;

pub use purchases::{FakeGateway, FakeSagaStore, FakeStock};
