//! Auth: who you are. Sign-up, activation, sign-in, refresh and sign-out through one
//! [`IdentityProvider`] port (Cognito, an OIDC issuer, or the embedded local issuer), and the
//! sign-in abuse policy. Commercial roles (buyer, seller) ride in the tokens; profile data lives
//! in the profiles context.

mod mutation;
mod ports;
mod rules;
mod throttle;

pub use mutation::{AuthMutation, AuthQuery, AuthSession, DevMail, SignUpInput, SignUpResult};
pub use ports::{AuthFailure, IdentityProvider, Mail, RefusedInput, Session, SignUpOutcome};
pub use rules::{
    EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, normalize_email, validate_email,
    validate_password,
};
pub use throttle::{
    ACCOUNT_LOCK_AFTER, ACCOUNT_SLOW_AFTER, ADDRESS_LOCK_AFTER, ADDRESS_SLOW_AFTER, LOCK_SECONDS,
    SignInThrottle, ThrottleDecision, WINDOW_SECONDS, decide,
};

/// The caller's network address, put into each request's data by the server (for sign-in
/// throttling by client address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);
