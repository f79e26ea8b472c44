//! Postal addresses: a profile's default shipping address and the one an order ships to.

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::checks::Checks;

/// A postal address.
#[derive(SimpleObject, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Recipient name.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, building.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `ES`.
    pub country: String,
}

/// A postal address.
#[derive(InputObject)]
pub struct AddressInput {
    /// Recipient name, 1 to 100 characters.
    pub name: String,
    /// Street and number, 1 to 200 characters.
    pub line1: String,
    /// Flat, floor, building: at most 200 characters.
    pub line2: Option<String>,
    /// City, 1 to 100 characters.
    pub city: String,
    /// Postal code, 1 to 20 characters.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code (two letters, e.g. `ES`).
    pub country: String,
}

impl AddressInput {
    /// The checked address; violations name `<checks' path>.<field>.<part>`.
    pub fn check(self, checks: &mut Checks, field: &str) -> Address {
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
