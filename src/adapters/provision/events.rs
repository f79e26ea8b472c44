//! The event route: the EventBridge bus, the projector's SQS queue (with its dead-letter
//! queue) and the rule between them.

use aws_sdk_eventbridge::error::DisplayErrorContext;

use crate::StartupError;

/// Creates (idempotently) the bus, the projector's queue and the rule routing mercado's events
/// from the bus to the queue. Returns the queue's ARN.
pub async fn provision_event_route(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus_name: &str,
    queue_url: &str,
    max_receives: i64,
) -> Result<String, StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("{what}: {e}"));
    let queue_name = queue_name(queue_url)?;

    match events.create_event_bus().name(bus_name).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(aws("create event bus", DisplayErrorContext(&e).to_string())),
    }

    let rule_name = format!("{bus_name}-to-{queue_name}");
    let rule_arn = format!("arn:aws:events:*:*:rule/{bus_name}/{bus_name}-to-{queue_name}");
    let (_, queue_arn) = ensure_queue_with_dlq(
        sqs,
        queue_url,
        "events.amazonaws.com",
        &rule_arn,
        max_receives,
    )
    .await?;
    let rule = events
        .put_rule()
        .name(&rule_name)
        .event_bus_name(bus_name)
        .event_pattern(r#"{"source":[{"prefix":"mercado."}]}"#)
        .send()
        .await
        .map_err(|e| aws("put rule", DisplayErrorContext(&e).to_string()))?;

    tracing::debug!(
        rule = rule.rule_arn().unwrap_or_default(),
        "event rule in place"
    );
    events
        .put_targets()
        .rule(&rule_name)
        .event_bus_name(bus_name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("projector-queue")
                .arn(&queue_arn)
                .build()
                .map_err(|e| aws("target", e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| aws("put targets", DisplayErrorContext(&e).to_string()))?;
    Ok(queue_arn)
}

/// [`ensure_queue`], plus its dead-letter queue `<queue>-dlq`: messages that fail
/// `max_receives` times end there, not in an endless loop. Returns the queue's URL and ARN.
pub async fn ensure_queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    service: &str,
    source_arn: &str,
    max_receives: i64,
) -> Result<(String, String), StartupError> {
    let (url, queue_arn) = ensure_queue(sqs, queue_url, service, source_arn).await?;
    let dlq_url = format!("{}-dlq", queue_url.trim_end_matches('/'));
    let (_, dlq_arn) = ensure_queue(sqs, &dlq_url, "sqs.amazonaws.com", &queue_arn).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receives.to_string(),
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )
        .send()
        .await
        .map_err(|e| StartupError::Aws(format!("redrive policy: {}", DisplayErrorContext(&e))))?;
    Ok((url, queue_arn))
}

/// Creates the queue named by the URL's last segment (idempotent) with a policy letting
/// `service` send from `source_arn`; returns the queue's URL and ARN. Local servers ignore the
/// policy; AWS needs it.
pub async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    service: &str,
    source_arn: &str,
) -> Result<(String, String), StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("{what}: {e}"));
    let queue_name = queue_name(queue_url)?;
    let created = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await
        .map_err(|e| aws("create queue", DisplayErrorContext(&e).to_string()))?;
    let url = created.queue_url().unwrap_or(queue_url).to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws("queue attributes", DisplayErrorContext(&e).to_string()))?;
    let queue_arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| aws("queue attributes", "no QueueArn".into()))?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": source_arn}}
        }]
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .map_err(|e| aws("queue policy", DisplayErrorContext(&e).to_string()))?;
    Ok((url, queue_arn))
}

/// The queue name: a queue URL's last path segment.
fn queue_name(queue_url: &str) -> Result<&str, StartupError> {
    queue_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| StartupError::Config(format!("no queue name in the queue URL {queue_url}")))
}
