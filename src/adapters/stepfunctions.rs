//! AWS Step Functions as the saga's engine: starts one execution per order and answers the
//! step tasks the state machine sends through SQS (`src/workers/saga.asl.json`).

use async_trait::async_trait;
use aws_sdk_sfn::{Client, error::DisplayErrorContext};
use uuid::Uuid;

use crate::workers::{
    BusError,
    saga::{SagaExecutions, TaskAnswer},
};

pub struct StepFunctions {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctions {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl SagaExecutions for StepFunctions {
    async fn start(&self, order: Uuid, input: &serde_json::Value) -> Result<(), BusError> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(order.to_string())
            .input(input.to_string())
            .send()
            .await;
        match started {
            Ok(_) => Ok(()),
            // A Standard execution's name is unique: this order's execution exists already
            // (a relay retried after a crash), so this start is absorbed.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(())
            }
            Err(e) => Err(BusError(format!(
                "start execution {order}: {}",
                DisplayErrorContext(&e)
            ))),
        }
    }

    async fn answer(&self, token: &str, answer: TaskAnswer) -> Result<(), BusError> {
        let refused = |code: Option<&str>| {
            // The task timed out or was answered already: the execution moved on.
            matches!(
                code,
                Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")
            )
        };
        match answer {
            TaskAnswer::Success(output) => {
                match self
                    .client
                    .send_task_success()
                    .task_token(token)
                    .output(output.to_string())
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if refused(aws_sdk_sfn::error::ProvideErrorMetadata::code(&e)) => Ok(()),
                    Err(e) => Err(BusError(format!(
                        "send task success: {}",
                        DisplayErrorContext(&e)
                    ))),
                }
            }
            TaskAnswer::Failure { error, cause } => {
                match self
                    .client
                    .send_task_failure()
                    .task_token(token)
                    .error(error)
                    .cause(cause)
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if refused(aws_sdk_sfn::error::ProvideErrorMetadata::code(&e)) => Ok(()),
                    Err(e) => Err(BusError(format!(
                        "send task failure: {}",
                        DisplayErrorContext(&e)
                    ))),
                }
            }
        }
    }
}
