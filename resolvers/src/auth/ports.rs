use async_trait::async_trait;

use crate::{ApiError, Role, Viewer};

/// Tokens handed to a signed-in client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub access_token: String,
    /// An OpenID Connect id token, where the provider issues one.
    pub id_token: Option<String>,
    /// Absent when the provider keeps the caller's refresh token unchanged (Cognito).
    pub refresh_token: Option<String>,
    pub expires_in_seconds: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUpOutcome {
    pub user_id: String,
    /// True until the activation code is confirmed.
    pub confirmation_required: bool,
}

/// A message in the local provider's development mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub sent_at: chrono::DateTime<chrono::Utc>,
}

/// Which sign-up input a provider refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedInput {
    Password,
    SignUp,
}

/// Why an identity operation failed, in terms a client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The provider refused the password (its own policy) or the sign-up as a whole.
    #[error("{message}")]
    Refused { what: RefusedInput, message: String },
    /// Wrong email or password (never says which).
    #[error("wrong email or password")]
    BadCredentials,
    #[error("the account is not activated yet: confirm the code sent by email")]
    NotConfirmed,
    #[error("wrong or expired activation code")]
    BadCode,
    #[error("the refresh token is invalid, expired or revoked")]
    BadRefreshToken,
    #[error("an account with this email already exists")]
    AlreadyExists,
    #[error("{0}")]
    NotSupported(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<AuthFailure> for ApiError {
    fn from(f: AuthFailure) -> Self {
        match f {
            // Sign-up is the only operation a provider refuses input of.
            AuthFailure::Refused { what, message } => ApiError::BadUserInput {
                field: match what {
                    RefusedInput::Password => "input.password".into(),
                    RefusedInput::SignUp => "input".into(),
                },
                message,
            },
            AuthFailure::BadCredentials | AuthFailure::BadRefreshToken => {
                ApiError::Unauthenticated(f.to_string())
            }
            AuthFailure::NotConfirmed => ApiError::Forbidden(f.to_string()),
            AuthFailure::BadCode => ApiError::bad_input("code", f.to_string()),
            AuthFailure::AlreadyExists => ApiError::Conflict(f.to_string()),
            AuthFailure::NotSupported(m) => ApiError::NotSupported(m),
            AuthFailure::Unavailable(m) => ApiError::Unavailable(m),
            AuthFailure::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// One port, three providers (Cognito, OIDC verification-only, local). The same GraphQL
/// mutations work whichever is configured; a provider that cannot do something says
/// [`AuthFailure::NotSupported`].
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// `cognito`, `oidc` or `local`.
    fn name(&self) -> &'static str;

    /// Registers an account (email and password already validated) with initial roles.
    async fn sign_up(
        &self,
        email: &str,
        password: &str,
        roles: &[Role],
    ) -> Result<SignUpOutcome, AuthFailure>;

    /// Activates an account with the code sent to its email.
    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), AuthFailure>;

    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, AuthFailure>;

    async fn refresh_session(&self, refresh_token: &str) -> Result<Session, AuthFailure>;

    /// Ends the caller's session(s): the refresh token (or all of the user's) stops working.
    async fn sign_out(
        &self,
        viewer: &Viewer,
        access_token: &str,
        refresh_token: Option<&str>,
    ) -> Result<(), AuthFailure>;

    /// Grants a role; it appears in the tokens of the next sign-in or refresh.
    async fn add_role(&self, viewer: &Viewer, role: Role) -> Result<(), AuthFailure>;

    /// The development mailbox (local provider only; `None` elsewhere).
    async fn dev_mailbox(&self, _email: &str) -> Option<Result<Vec<Mail>, AuthFailure>> {
        None
    }
}
