//! Money: integer minor units of an ISO 4217 currency, and its checks.

use async_graphql::SimpleObject;
use serde::{Deserialize, Serialize};

use crate::checks::Checks;

/// Largest price: 10 million units of the currency.
pub const PRICE_MAX_MINOR: i64 = 1_000_000_000;

/// ISO 4217 codes accepted for prices.
pub const CURRENCIES: &[&str] = &[
    "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP",
    "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KRW", "MAD", "MXN", "MYR",
    "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "RON", "SAR", "SEK", "SGD", "THB", "TRY",
    "TWD", "UAH", "USD", "VND", "ZAR",
];

/// An amount of money in integer minor units (cents) of an ISO 4217 currency.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units: 1999 with `EUR` is €19.99.
    pub amount: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

impl Checks {
    pub fn money(&mut self, name: &str, amount: i64, currency: &str) -> Money {
        if !(0..=PRICE_MAX_MINOR).contains(&amount) {
            self.fail(
                &format!("{name}.amount"),
                format!("must be between 0 and {PRICE_MAX_MINOR}"),
            );
        }
        let currency = currency.trim().to_ascii_uppercase();
        if !CURRENCIES.contains(&currency.as_str()) {
            self.fail(
                &format!("{name}.currency"),
                "must be a supported ISO 4217 code",
            );
        }
        Money { amount, currency }
    }
}
