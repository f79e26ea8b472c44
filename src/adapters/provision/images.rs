//! The images bucket, its CORS rule (browsers PUT to it with presigned URLs) and its
//! object-created notifications to an SQS queue.

use aws_sdk_s3::{
    Client,
    error::DisplayErrorContext,
    types::{
        CorsConfiguration, CorsRule, Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    },
};

use crate::StartupError;

/// Creates (idempotently) the images bucket with a CORS rule letting `upload_origins` PUT to
/// it, the notification queue, and the bucket's object-created notification to that queue.
pub async fn provision_images(
    s3: &Client,
    sqs: &aws_sdk_sqs::Client,
    bucket: &str,
    upload_origins: &[String],
    queue_url: &str,
) -> Result<(), StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("{what}: {e}"));
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) => {}
        Err(e) => return Err(aws("create bucket", DisplayErrorContext(&e).to_string())),
    }
    let cors = CorsRule::builder()
        .set_allowed_origins(Some(upload_origins.to_vec()))
        .allowed_methods("PUT")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(3600)
        .build()
        .map_err(|e| aws("cors rule", e.to_string()))?;
    s3.put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(cors)
                .build()
                .map_err(|e| aws("cors configuration", e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| aws("bucket cors", DisplayErrorContext(&e).to_string()))?;
    let (_, queue_arn) = crate::adapters::provision::ensure_queue(
        sqs,
        queue_url,
        "s3.amazonaws.com",
        &format!("arn:aws:s3:::{bucket}"),
    )
    .await?;
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value(crate::adapters::s3::IMAGE_PREFIX)
                        .build(),
                )
                .build(),
        )
        .build();
    let queue = QueueConfiguration::builder()
        .id("mercado-image-events")
        .queue_arn(queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .map_err(|e| aws("queue configuration", e.to_string()))?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws("bucket notification", DisplayErrorContext(&e).to_string()))?;
    Ok(())
}
