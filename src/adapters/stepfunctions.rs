//! AWS Step Functions as the saga's engine: starts one execution per order and answers the
//! step tasks the state machine sends through SQS (`src/workers/saga.asl.json`).

use async_trait::async_trait;
use aws_sdk_sfn::{
    Client,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
};
use uuid::Uuid;

use crate::workers::{
    BusError,
    saga::{SagaExecutions, TaskAnswer},
};

/// An SDK error's code, and its message with context.
fn why<E>(e: SdkError<E>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    (
        e.code().map(str::to_string),
        DisplayErrorContext(&e).to_string(),
    )
}

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
        let sent = match answer {
            TaskAnswer::Success(output) => self
                .client
                .send_task_success()
                .task_token(token)
                .output(output.to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(why),
            TaskAnswer::Failure { error, cause } => self
                .client
                .send_task_failure()
                .task_token(token)
                .error(error)
                .cause(cause)
                .send()
                .await
                .map(|_| ())
                .map_err(why),
        };
        match sent {
            Ok(()) => Ok(()),
            // The task timed out or was answered already: the execution moved on.
            Err((Some(code), _))
                if matches!(
                    code.as_str(),
                    "TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken"
                ) =>
            {
                Ok(())
            }
            Err((_, message)) => Err(BusError(format!("answer a saga task: {message}"))),
        }
    }
}
