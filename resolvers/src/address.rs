//! Postal addresses: a profile's default shipping address and the one an order ships to. One
//! type is both the output `Address` and the input `AddressInput`: they hold the same parts.

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::checks::Checks;

/// A postal address.
#[derive(
    SimpleObject, InputObject, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize,
)]
#[graphql(input_name = "AddressInput")]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Recipient name, 1 to 100 characters.
    pub name: String,
    /// Street and number, 1 to 200 characters.
    pub line1: String,
    /// Flat, floor, building: at most 200 characters.
    pub line2: Option<String>,
    /// City or town, 1 to 100 characters.
    pub city: String,
    /// Postal code, 1 to 20 characters.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code (two letters, e.g. `ES`).
    pub country: String,
}

impl Address {
    /// The address as given, trimmed and checked; violations name
    /// `<checks' path>.<field>.<part>`.
    pub fn checked(self, checks: &mut Checks, field: &str) -> Address {
        let mut inner = Checks::new(&checks.field(field));
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            inner.fail("country", "must be an ISO 3166-1 alpha-2 code");
        }
        let address = Address {
            name: inner.text("name", &self.name, 1, 100),
            line1: inner.text("line1", &self.line1, 1, 200),
            line2: self
                .line2
                .map(|l| inner.text("line2", &l, 0, 200))
                .filter(|l| !l.is_empty()),
            city: inner.text("city", &self.city, 1, 100),
            postal_code: inner.text("postalCode", &self.postal_code, 1, 20),
            country,
        };
        checks.errors.extend(inner.errors);
        address
    }
}
