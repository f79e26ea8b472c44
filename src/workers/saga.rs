//! The purchase saga's worker loop: drives `mercado_resolvers::purchases::saga::SagaRunner`
//! (the steps, on ports) whenever an order is placed or asked to cancel on any instance, and
//! every `poll` anyway (payment retries and hold expiries are time-based).
//!
//! `saga.asl.json` beside this file is the same machine in Amazon States Language, state for
//! step: HoldStock (PENDING), TakePayment (STOCK_HELD), Finalize (PAID), and the Release*/Refund
//! compensations, for running the saga on AWS Step Functions instead of this runner.

use std::{sync::Arc, time::Duration};

use mercado_resolvers::purchases::{SagaWakeups, saga::SagaRunner};
use tokio::sync::broadcast;

use super::{Shutdown, stopped};

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
