//! AWS SDK configuration from the standard sources (`AWS_REGION`, `AWS_ENDPOINT_URL`,
//! per-service `AWS_ENDPOINT_URL_<SERVICE>`, credentials chain), so the same binary talks to
//! AWS or to a local AWS-API server unchanged.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, timeout::TimeoutConfig};

/// Region used when none is configured: local stacks rarely set one.
const FALLBACK_REGION: &str = "us-east-1";

/// Bounds on every AWS call, retries included, so a service that is away makes requests fail
/// fast (`UNAVAILABLE` within two seconds, answer included) instead of hanging them; long
/// polls and the relay get their own.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);

fn timeouts(operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(operation)
        .build()
}

/// The standard sources, with mercado's bounds on every call.
fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts(OPERATION_TIMEOUT))
}

pub async fn load() -> SdkConfig {
    let loaded = defaults().load().await;
    if loaded.region().is_some() {
        return loaded;
    }
    defaults().region(Region::new(FALLBACK_REGION)).load().await
}

/// An EventBridge client for the relay: nobody waits on it, and a publish that times out is
/// retried (and may then go out twice), so it may take longer than a request's calls.
pub fn publishing_eventbridge(sdk: &SdkConfig) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::config::Builder::from(sdk)
        .timeout_config(timeouts(Duration::from_secs(10)))
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

/// An SQS client for long polls of `wait_seconds`: its calls may take that long and more.
pub fn long_poll_sqs(sdk: &SdkConfig, wait_seconds: i32) -> aws_sdk_sqs::Client {
    let wait = Duration::from_secs(u64::try_from(wait_seconds.max(0)).unwrap_or(0));
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(timeouts(wait + Duration::from_secs(10)))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Was a defect: with no bounds, a DynamoDB that accepted connections and never answered
    /// held every catalog read (and its client) indefinitely.
    #[tokio::test]
    async fn a_service_that_never_answers_fails_the_call_within_two_seconds() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", silent.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                open.push(socket); // accepted, never answered
            }
        });
        let sdk = defaults()
            .region(Region::new(FALLBACK_REGION))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        let started = std::time::Instant::now();
        let call = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send();
        let answer = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("no answer within 10 s: AWS calls are unbounded");
        assert!(answer.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        held.abort();
    }
}
