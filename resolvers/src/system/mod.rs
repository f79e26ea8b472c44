//! Cross-cutting streams that belong to no business context.

use std::time::Duration;

use async_graphql::{Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use crate::{ApiError, error::into_gql};

/// One beat of a heartbeat stream.
#[derive(SimpleObject, Clone, Debug)]
pub struct Heartbeat {
    /// 1 for the first beat, then counting up.
    pub seq: i32,
    /// Server time of the beat.
    pub at: DateTime<Utc>,
}

/// Connection-level streams.
#[derive(Default)]
pub struct SystemSubscription;

#[Subscription]
impl SystemSubscription {
    /// Beats every `intervalMs` (100 to 60000) milliseconds, `count` times (1 to 1000), then
    /// completes: lets a client check its socket end to end.
    async fn heartbeat(
        &self,
        #[graphql(default = 1000)] interval_ms: i32,
        #[graphql(default = 3)] count: i32,
    ) -> Result<impl Stream<Item = Heartbeat>> {
        if !(100..=60_000).contains(&interval_ms) {
            return Err(into_gql(ApiError::bad_input(
                "intervalMs",
                "must be between 100 and 60000",
            )));
        }
        if !(1..=1000).contains(&count) {
            return Err(into_gql(ApiError::bad_input(
                "count",
                "must be between 1 and 1000",
            )));
        }
        let interval = Duration::from_millis(u64::try_from(interval_ms).unwrap_or(1000));
        Ok(futures::stream::unfold(0, move |seq| async move {
            if seq > 0 {
                tokio::time::sleep(interval).await;
            }
            Some((seq + 1, seq + 1))
        })
        .take(usize::try_from(count).unwrap_or(1))
        .map(|seq| Heartbeat {
            seq,
            at: Utc::now(),
        }))
    }
}
