//! Buses: how events leave the outbox and reach consumers. Each implements the relay's
//! `Publisher` port (the relay does not care which one it has); the consuming ends implement
//! the consumer's `Inbox` port.

mod eventbridge;
mod inprocess;
pub mod nats;
mod sqs;

pub use eventbridge::{EventBridgePublisher, PUT_EVENTS_MAX_ENTRIES};
pub use inprocess::InProcessPublisher;
pub use sqs::SqsInbox;
