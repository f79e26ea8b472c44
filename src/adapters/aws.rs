//! AWS SDK configuration from the standard sources (`AWS_REGION`, `AWS_ENDPOINT_URL`,
//! per-service `AWS_ENDPOINT_URL_<SERVICE>`, credentials chain), so the same binary talks to
//! AWS or to a local AWS-API server unchanged.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Region used when none is configured: local stacks rarely set one.
const FALLBACK_REGION: &str = "us-east-1";

pub async fn load() -> SdkConfig {
    let loaded = aws_config::defaults(BehaviorVersion::latest()).load().await;
    if loaded.region().is_some() {
        return loaded;
    }
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(FALLBACK_REGION))
        .load()
        .await
}
