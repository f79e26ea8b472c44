//! Who is calling. Identity comes from a verified JWT; the server puts `Option<Viewer>` into each
//! request's context (`None` = anonymous). A bad token never reaches the resolvers: the server
//! answers `UNAUTHENTICATED` before execution.

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

/// A commercial role. A user may hold several.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Browses the catalog and places orders.
    Buyer,
    /// Manages inventory and sells.
    Seller,
}

impl Role {
    /// Parses a role claim value (case-insensitive); unknown roles are ignored by callers.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "buyer" => Some(Self::Buyer),
            "seller" => Some(Self::Seller),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buyer => "buyer",
            Self::Seller => "seller",
        }
    }
}

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The token's subject: the user id.
    pub subject: String,
    pub roles: Vec<Role>,
    /// The email the token carries, when it carries one.
    pub email: Option<String>,
}

/// The raw bearer token of the request (for sign-out), next to the [`Viewer`] it proved.
#[derive(Clone, Debug)]
pub struct BearerToken(pub String);

impl Viewer {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
