//! The purchase saga's worker loop: drives `mercado_resolvers::purchases::saga::SagaRunner`
//! (the steps, on ports) whenever an order is placed or asked to cancel on any instance, and
//! every `poll` anyway (payment retries and hold expiries are time-based).
//!
//! With `MERCADO_SAGA_ENGINE=stepfunctions`, `saga.asl.json` beside this file drives each order
//! instead: [`SagaStarter`] (in the relay) starts one execution per placed order, and
//! [`SagaTasks`] (a consumer of the step queue) runs each step task with the runner's own step
//! code and answers it; the runner loop then only sweeps what executions leave unfinished.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use mercado_resolvers::{
    StoreError,
    purchases::{
        OrderStatus, SagaWakeups,
        saga::{Compensation, SagaRunner, SagaStep, StepOutcome},
    },
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{
    BusError, Shutdown,
    consumer::{HandleError, MessageHandler},
    relay::Publisher,
    stopped,
};
use crate::events::{EventEnvelope, ORDER_STATUS_CHANGED};

/// Step Functions as the saga's engine (`src/adapters/stepfunctions.rs` in the server).
#[async_trait]
pub trait SagaExecutions: Send + Sync {
    /// Starts the execution of `order`, named by its id; one that exists already is fine.
    async fn start(&self, order: Uuid, input: &serde_json::Value) -> Result<(), BusError>;

    /// Answers a step task: its output, or an error name the ASL's Retry/Catch match.
    async fn answer(&self, token: &str, answer: TaskAnswer) -> Result<(), BusError>;
}

/// What a step task answers.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    /// `SendTaskSuccess` with this output.
    Success(serde_json::Value),
    /// `SendTaskFailure` with a `Mercado.*` error name and a cause.
    Failure { error: &'static str, cause: String },
}

/// A transient payment failure: Pay's Retry, then its Catch (PAYMENT_FAILED).
pub const GATEWAY_UNAVAILABLE: &str = "Mercado.GatewayUnavailable";
/// A store did not answer: every task's Retry, then the sweeper.
pub const UNAVAILABLE: &str = "Mercado.Unavailable";

/// A step task as the state machine sends it to the step queue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepTask {
    task_token: String,
    step: String,
    order_id: Uuid,
    to: Option<String>,
    reason: Option<String>,
    refund: Option<bool>,
}

/// What a step answers: where the order is and what it calls for next (`hold`, `pay`,
/// `finalize`, `compensate` with `to`/`reason`/`refund`, or `done`), so the state machine
/// routes from where the order really is, whoever moved it.
#[derive(Debug, Serialize, PartialEq)]
struct StepResult {
    status: &'static str,
    next: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<bool>,
}

fn at(status: OrderStatus) -> StepResult {
    StepResult {
        status: status.as_str(),
        next: SagaStep::for_status(status).map_or("done", |s| s.name()),
        to: None,
        reason: None,
        refund: None,
    }
}

fn parse_status(name: &str) -> Option<OrderStatus> {
    [
        OrderStatus::Rejected,
        OrderStatus::PaymentFailed,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
}

/// Runs the step tasks of the state machine: the runner's step code, then the answer.
pub struct SagaTasks {
    runner: Arc<SagaRunner>,
    executions: Arc<dyn SagaExecutions>,
}

impl SagaTasks {
    pub fn new(runner: Arc<SagaRunner>, executions: Arc<dyn SagaExecutions>) -> Self {
        Self { runner, executions }
    }

    /// Runs one task: the answer it gets. A task for an order in another status changes
    /// nothing and answers where the order is.
    async fn run(&self, task: &StepTask) -> Result<TaskAnswer, HandleError> {
        let step =
            match task.step.as_str() {
                "hold" => SagaStep::Hold,
                "pay" => SagaStep::Pay,
                "finalize" => SagaStep::Finalize,
                "compensate" => SagaStep::Compensate(Compensation {
                    to: task.to.as_deref().and_then(parse_status).ok_or_else(|| {
                        HandleError::Poison(format!("compensate to {:?}", task.to))
                    })?,
                    reason: task.reason.clone().unwrap_or_default(),
                    refund: task.refund.unwrap_or(false),
                }),
                other => return Err(HandleError::Poison(format!("unknown saga step {other:?}"))),
            };
        let result = match self.runner.run_step(task.order_id, step).await {
            Ok(StepOutcome::Moved(status) | StepOutcome::Unchanged(status)) => at(status),
            Ok(StepOutcome::Compensate(c)) => StepResult {
                status: "",
                next: "compensate",
                to: Some(c.to.as_str()),
                reason: Some(c.reason),
                refund: Some(c.refund),
            },
            Ok(StepOutcome::GatewayUnavailable(cause)) => {
                return Ok(TaskAnswer::Failure {
                    error: GATEWAY_UNAVAILABLE,
                    cause,
                });
            }
            Err(StoreError::NotFound) => {
                return Err(HandleError::Poison(format!("no order {}", task.order_id)));
            }
            Err(e) => {
                return Ok(TaskAnswer::Failure {
                    error: UNAVAILABLE,
                    cause: e.to_string(),
                });
            }
        };
        Ok(TaskAnswer::Success(json!(result)))
    }
}

#[async_trait]
impl MessageHandler for SagaTasks {
    async fn handle(&self, body: &[u8]) -> Result<(), HandleError> {
        let task: StepTask = serde_json::from_slice(body)
            .map_err(|e| HandleError::Poison(format!("not a saga step task: {e}")))?;
        let answer = self.run(&task).await?;
        // An answer the service refuses (the task timed out, or was answered already) is
        // settled: the state machine moved on and the order's status is in PostgreSQL.
        self.executions
            .answer(&task.task_token, answer)
            .await
            .map_err(|e| HandleError::Transient(e.to_string()))
    }
}

/// The relay's publisher with Step Functions as the saga's engine: before an order's placement
/// event goes out, its execution starts (named by the order id, so a repeat is absorbed).
pub struct SagaStarter {
    inner: Arc<dyn Publisher>,
    executions: Arc<dyn SagaExecutions>,
    task_timeout_seconds: i64,
}

impl SagaStarter {
    pub fn new(
        inner: Arc<dyn Publisher>,
        executions: Arc<dyn SagaExecutions>,
        task_timeout_seconds: i64,
    ) -> Self {
        Self {
            inner,
            executions,
            task_timeout_seconds,
        }
    }
}

#[async_trait]
impl Publisher for SagaStarter {
    async fn publish(&self, events: &[EventEnvelope]) -> Vec<Result<(), BusError>> {
        let mut started = Vec::with_capacity(events.len());
        for event in events {
            let placed = event.event_type == ORDER_STATUS_CHANGED
                && event.payload["status"] == OrderStatus::Pending.as_str();
            started.push(if placed {
                let input = json!({
                    "orderId": event.aggregate_id,
                    "taskTimeoutSeconds": self.task_timeout_seconds,
                });
                self.executions.start(event.aggregate_id, &input).await
            } else {
                Ok(())
            });
        }
        // Events whose execution did not start stay in the outbox (retried with it).
        let ready: Vec<EventEnvelope> = events
            .iter()
            .zip(&started)
            .filter(|(_, s)| s.is_ok())
            .map(|(e, _)| e.clone())
            .collect();
        let mut published = self.inner.publish(&ready).await.into_iter();
        started
            .into_iter()
            .map(|s| match s {
                Ok(()) => published.next().unwrap_or(Ok(())),
                Err(e) => Err(e),
            })
            .collect()
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.inner.ping().await
    }
}

/// Advances orders until shutdown: woken by NOTIFY when orders are placed or change, polling
/// every `poll` anyway (retries and expiries are time-based).
pub async fn run(
    runner: Arc<SagaRunner>,
    wakeups: Arc<dyn SagaWakeups>,
    poll: Duration,
    mut shutdown: Shutdown,
) {
    let mut woken = wakeups.subscribe();
    loop {
        loop {
            match runner.advance_due().await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "saga runner step failed");
                    break;
                }
            }
        }
        let notified = async {
            if let Err(broadcast::error::RecvError::Closed) = woken.recv().await {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = notified => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}
