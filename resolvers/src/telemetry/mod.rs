//! What mercado tells operators: trace context carried across processes ([`continue_trace`],
//! [`current_traceparent`]), the Prometheus metrics ([`metrics`]), and the GraphQL extension
//! that traces and measures every operation ([`GraphqlTelemetry`]).

mod graphql;
mod metrics;
mod trace;

pub use graphql::GraphqlTelemetry;
pub use metrics::{Live, Metrics, metrics};
pub use trace::{continue_trace, current_traceparent, rename, traceparent_of};
