//! Sign-in abuse policy. Failed sign-ins are counted per account and per client address over a
//! sliding window; past a first threshold each attempt is slowed, past a second it is refused
//! until the lock expires. A successful sign-in clears the account's count (not the address's).

use async_trait::async_trait;

use crate::StoreError;

/// Failures are counted over this window.
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// Refused attempts are refused for this long after the lock engages.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// Per account: from the 5th failure on, each attempt waits (1 s, 2 s, 4 s, then 8 s).
pub const ACCOUNT_SLOW_AFTER: i64 = 5;
/// Per account: 10 failures lock the account's sign-in.
pub const ACCOUNT_LOCK_AFTER: i64 = 10;
/// Per client address: from 20 failures on, each attempt waits 1 s.
pub const ADDRESS_SLOW_AFTER: i64 = 20;
/// Per client address: 50 failures lock sign-in from that address.
pub const ADDRESS_LOCK_AFTER: i64 = 50;
const MAX_DELAY_MS: u64 = 8_000;

/// What to do with a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allow,
    /// Answer only after waiting this long.
    Slow {
        delay_ms: u64,
    },
    /// Refuse without checking the password.
    Refuse {
        retry_after_seconds: i64,
    },
}

/// Decides from the current counts. `*_locked_for` is the remaining lock, in seconds, if any.
pub fn decide(
    account_failures: i64,
    account_locked_for: Option<i64>,
    address_failures: i64,
    address_locked_for: Option<i64>,
) -> ThrottleDecision {
    let lock = account_locked_for
        .into_iter()
        .chain(address_locked_for)
        .filter(|s| *s > 0)
        .max();
    if let Some(retry_after_seconds) = lock {
        return ThrottleDecision::Refuse {
            retry_after_seconds,
        };
    }
    let account_delay = (account_failures >= ACCOUNT_SLOW_AFTER).then(|| {
        let steps = u32::try_from(account_failures - ACCOUNT_SLOW_AFTER).unwrap_or(u32::MAX);
        1_000u64
            .saturating_mul(1u64 << steps.min(3))
            .min(MAX_DELAY_MS)
    });
    let address_delay = (address_failures >= ADDRESS_SLOW_AFTER).then_some(1_000u64);
    match account_delay.max(address_delay) {
        Some(delay_ms) => ThrottleDecision::Slow { delay_ms },
        None => ThrottleDecision::Allow,
    }
}

/// Counts kept where every server instance sees them (PostgreSQL in the server).
#[async_trait]
pub trait SignInThrottle: Send + Sync {
    /// The decision for an attempt on `account` from `address`.
    async fn check(&self, account: &str, address: &str) -> Result<ThrottleDecision, StoreError>;
    /// Records a failed attempt (and engages locks when a threshold is reached).
    async fn record_failure(&self, account: &str, address: &str) -> Result<(), StoreError>;
    /// Clears the account's failures after a successful sign-in.
    async fn record_success(&self, account: &str) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_then_refuses() {
        assert_eq!(decide(0, None, 0, None), ThrottleDecision::Allow);
        assert_eq!(decide(4, None, 0, None), ThrottleDecision::Allow);
        assert_eq!(
            decide(5, None, 0, None),
            ThrottleDecision::Slow { delay_ms: 1_000 }
        );
        assert_eq!(
            decide(7, None, 0, None),
            ThrottleDecision::Slow { delay_ms: 4_000 }
        );
        assert_eq!(
            decide(9, None, 0, None),
            ThrottleDecision::Slow { delay_ms: 8_000 }
        );
        assert_eq!(
            decide(0, None, 25, None),
            ThrottleDecision::Slow { delay_ms: 1_000 }
        );
        assert_eq!(
            decide(10, Some(900), 0, None),
            ThrottleDecision::Refuse {
                retry_after_seconds: 900
            }
        );
        assert_eq!(
            decide(0, None, 50, Some(30)),
            ThrottleDecision::Refuse {
                retry_after_seconds: 30
            }
        );
    }
}
