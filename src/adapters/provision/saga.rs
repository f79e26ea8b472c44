//! The saga on Step Functions: its step queue (with a dead-letter queue) and the Standard
//! state machine from `src/workers/saga.asl.json`, its `${SagaQueueUrl}` filled in. On AWS the
//! CDK app creates both (with the state machine's role); this is for the local AWS server.

use aws_sdk_sfn::error::DisplayErrorContext;

use super::ensure_queue_with_dlq;
use crate::StartupError;

/// The committed definition, a template for [`definition`].
const TEMPLATE: &str = include_str!("../../workers/saga.asl.json");

/// The definition with its step queue filled in.
pub fn definition(queue_url: &str) -> String {
    TEMPLATE.replace("${SagaQueueUrl}", queue_url)
}

/// Creates (idempotently) the step queue, its dead-letter queue and the state machine
/// `name`, or brings an existing machine's definition up to date. Returns its ARN.
pub async fn provision_saga(
    sfn: &aws_sdk_sfn::Client,
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    queue_url: &str,
    max_receives: i64,
) -> Result<String, StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("{what}: {e}"));
    let machine_arn_like = format!("arn:aws:states:*:*:stateMachine:{name}");
    let (url, queue_arn) = ensure_queue_with_dlq(
        sqs,
        queue_url,
        "states.amazonaws.com",
        &machine_arn_like,
        max_receives,
    )
    .await?;

    let definition = definition(&url);
    let mut pages = sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| aws("list state machines", DisplayErrorContext(&e).to_string()))?;
        if let Some(found) = page.state_machines().iter().find(|m| m.name() == name) {
            let arn = found.state_machine_arn().to_string();
            sfn.update_state_machine()
                .state_machine_arn(&arn)
                .definition(&definition)
                .send()
                .await
                .map_err(|e| aws("update state machine", DisplayErrorContext(&e).to_string()))?;
            return Ok(arn);
        }
    }
    // The queue's account owns the machine; its role is the CDK app's on AWS.
    let account = queue_arn.split(':').nth(4).unwrap_or("000000000000");
    let created = sfn
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(format!("arn:aws:iam::{account}:role/{name}"))
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await
        .map_err(|e| aws("create state machine", DisplayErrorContext(&e).to_string()))?;
    Ok(created.state_machine_arn().to_string())
}
