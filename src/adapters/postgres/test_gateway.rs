//! The built-in payment gateway: decides by token, like a card processor's test mode, and
//! keeps its own ledger in PostgreSQL so a retried or crashed charge never charges twice. A real
//! processor is one more `PaymentGateway` adapter.

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
const TRANSIENT_FAILURES: i32 = 2;
/// Always fails transiently: a gateway that is down.
pub const TOKEN_UNAVAILABLE: &str = "tok_unavailable";

pub struct TestGateway {
    pool: PgPool,
}

impl TestGateway {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
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
            Some("CAPTURED" | "REFUNDED") => return Ok(ChargeOutcome::Approved),
            _ => {}
        }
        let status = match token {
            TOKEN_UNAVAILABLE => {
                return Err(GatewayError("test gateway: unavailable".into()));
            }
            TOKEN_APPROVE => "CAPTURED",
            TOKEN_DECLINE => "DECLINED",
            TOKEN_TRANSIENT => {
                // Counted durably, so restarts do not reset the test scenario.
                let tries: i32 = sqlx::query_scalar(
                    "INSERT INTO test_gateway_charges AS c (order_id, amount, status)
                     VALUES ($1, $2, 'FAILING')
                     ON CONFLICT (order_id) DO UPDATE SET attempts = c.attempts + 1,
                                                          updated_at = now()
                     RETURNING attempts",
                )
                .bind(order_id)
                .bind(amount)
                .fetch_one(&self.pool)
                .await
                .map_err(unavailable)?;
                if tries <= TRANSIENT_FAILURES {
                    return Err(GatewayError("test gateway: temporary failure".into()));
                }
                "CAPTURED"
            }
            _ => "DECLINED",
        };
        sqlx::query(
            "INSERT INTO test_gateway_charges (order_id, amount, status) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO UPDATE SET status = $3, updated_at = now()
             WHERE test_gateway_charges.status = 'FAILING'",
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
