//! Payment gateways. The built-in test gateway decides by token, like a card processor's test
//! mode, and keeps its own ledger in PostgreSQL so a retried or crashed charge never charges
//! twice.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use mercado_resolvers::purchases::{ChargeOutcome, GatewayError, PaymentGateway};
use sqlx::PgPool;
use uuid::Uuid;

/// Approves.
pub const TOKEN_APPROVE: &str = "tok_approve";
/// Declines.
pub const TOKEN_DECLINE: &str = "tok_decline";
/// Fails transiently twice, then approves.
pub const TOKEN_TRANSIENT: &str = "tok_transient";
const TRANSIENT_FAILURES: u32 = 2;

pub struct TestGateway {
    pool: PgPool,
    /// Transient failures served so far per order (test mode only needs them in memory).
    failures: Mutex<HashMap<Uuid, u32>>,
}

impl TestGateway {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            failures: Mutex::default(),
        }
    }
}

fn unavailable(e: sqlx::Error) -> GatewayError {
    GatewayError(e.to_string())
}

#[async_trait]
impl PaymentGateway for TestGateway {
    async fn charge(
        &self,
        order_id: Uuid,
        token: &str,
        amount: i64,
    ) -> Result<ChargeOutcome, GatewayError> {
        let existing: Option<String> =
            sqlx::query_scalar("SELECT status FROM test_gateway_charges WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        match existing.as_deref() {
            Some("DECLINED") => return Ok(ChargeOutcome::Declined("card declined".into())),
            Some(_) => return Ok(ChargeOutcome::Approved),
            None => {}
        }
        let status = match token {
            TOKEN_APPROVE => "CAPTURED",
            TOKEN_DECLINE => "DECLINED",
            TOKEN_TRANSIENT => {
                let mut failures = self
                    .failures
                    .lock()
                    .map_err(|_| GatewayError("gateway state poisoned".into()))?;
                let served = failures.entry(order_id).or_insert(0);
                if *served < TRANSIENT_FAILURES {
                    *served += 1;
                    return Err(GatewayError("test gateway: temporary failure".into()));
                }
                "CAPTURED"
            }
            _ => "DECLINED",
        };
        sqlx::query(
            "INSERT INTO test_gateway_charges (order_id, amount, status) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(amount)
        .bind(status)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(if status == "CAPTURED" {
            ChargeOutcome::Approved
        } else if token == TOKEN_DECLINE {
            ChargeOutcome::Declined("card declined".into())
        } else {
            ChargeOutcome::Declined("unknown payment token".into())
        })
    }

    async fn refund(&self, order_id: Uuid) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE test_gateway_charges SET status = 'REFUNDED', updated_at = now()
             WHERE order_id = $1 AND status = 'CAPTURED'",
        )
        .bind(order_id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
