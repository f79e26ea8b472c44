use std::{sync::Arc, time::Duration};

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ClientAddr, IdentityProvider, SignInThrottle, ThrottleDecision, normalize_email,
    validate_email, validate_password,
};
use crate::{
    ApiError, Role, Viewer,
    error::{into_gql, violations_into_gql},
    guard,
    viewer::BearerToken,
};

/// Longest activation code or refresh token accepted (anything longer is not ours).
const TOKEN_MAX_CHARS: usize = 4096;

/// A new account.
#[derive(InputObject)]
pub struct SignUpInput {
    /// Email address; the sign-in name. At most 254 characters.
    pub email: String,
    /// 10 to 128 characters with at least one letter and one digit.
    pub password: String,
    /// Initial roles; buyer when omitted.
    pub roles: Option<Vec<Role>>,
}

/// The account just registered.
#[derive(SimpleObject)]
pub struct SignUpResult {
    /// The new user's id (the `sub` of their tokens).
    pub user_id: String,
    /// True until `confirmSignUp` is called with the code sent by email.
    pub confirmation_required: bool,
}

/// Tokens for a signed-in user. Send `accessToken` as `Authorization: Bearer …`.
#[derive(SimpleObject)]
pub struct AuthSession {
    /// The bearer token for API calls.
    pub access_token: String,
    /// An OpenID Connect id token, when the provider issues one.
    pub id_token: Option<String>,
    /// Trade it for new tokens with `refreshSession`. Null when the previous one stays valid.
    pub refresh_token: Option<String>,
    /// Seconds until `accessToken` expires.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: String,
}

impl From<super::Session> for AuthSession {
    fn from(s: super::Session) -> Self {
        Self {
            access_token: s.access_token,
            id_token: s.id_token,
            refresh_token: s.refresh_token,
            expires_in: s.expires_in_seconds,
            token_type: "Bearer".into(),
        }
    }
}

/// A message in the development mailbox (local provider only).
#[derive(SimpleObject)]
pub struct DevMail {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Body text (holds the activation code).
    pub body: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

/// Sign-up, activation, sign-in and session management.
#[derive(Default)]
pub struct AuthMutation;

fn provider<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<dyn IdentityProvider>> {
    ctx.data::<Arc<dyn IdentityProvider>>()
}

fn check_token_length(field: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.chars().count() > TOKEN_MAX_CHARS {
        return Err(ApiError::bad_input(field, "is empty or too long"));
    }
    Ok(())
}

#[Object]
impl AuthMutation {
    /// Registers an account. An activation code is sent to the email; sign-in works once
    /// `confirmSignUp` has accepted it.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> Result<SignUpResult> {
        let email = normalize_email(&input.email);
        let violations: Vec<ApiError> = [
            validate_email("input.email", &email),
            validate_password("input.password", &input.password, &email),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        if !violations.is_empty() {
            return Err(violations_into_gql(violations));
        }
        let mut roles = input.roles.unwrap_or_else(|| vec![Role::Buyer]);
        roles.sort_by_key(|r| r.as_str());
        roles.dedup();
        if roles.is_empty() {
            return Err(into_gql(ApiError::bad_input(
                "input.roles",
                "must not be empty",
            )));
        }
        let outcome = provider(ctx)?
            .sign_up(&email, &input.password, &roles)
            .await
            .map_err(|e| into_gql(e.into()))?;
        Ok(SignUpResult {
            user_id: outcome.user_id,
            confirmation_required: outcome.confirmation_required,
        })
    }

    /// Activates an account with the code sent by email.
    async fn confirm_sign_up(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
    ) -> Result<bool> {
        let email = normalize_email(&email);
        validate_email("email", &email).map_err(into_gql)?;
        check_token_length("code", code.trim()).map_err(into_gql)?;
        provider(ctx)?
            .confirm_sign_up(&email, code.trim())
            .await
            .map_err(|e| into_gql(e.into()))?;
        Ok(true)
    }

    /// Signs in with email and password. Repeated failures for one account or one client
    /// address are slowed, then refused for a while (`TOO_MANY_REQUESTS`).
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<AuthSession> {
        let email = normalize_email(&email);
        validate_email("email", &email).map_err(into_gql)?;
        if password.is_empty() || password.chars().count() > super::PASSWORD_MAX_CHARS {
            return Err(into_gql(ApiError::Unauthenticated(
                "wrong email or password".into(),
            )));
        }
        let throttle = ctx.data::<Arc<dyn SignInThrottle>>()?;
        let address = ctx
            .data_opt::<ClientAddr>()
            .map_or_else(|| "unknown".to_string(), |a| a.0.to_string());
        match throttle
            .check(&email, &address)
            .await
            .map_err(|e| into_gql(e.into()))?
        {
            ThrottleDecision::Allow => {}
            ThrottleDecision::Slow { delay_ms } => {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            ThrottleDecision::Refuse {
                retry_after_seconds,
            } => {
                crate::telemetry::metrics().signin_throttled.inc();
                return Err(into_gql(ApiError::TooManyRequests {
                    retry_after_seconds,
                }));
            }
        }
        match provider(ctx)?.sign_in(&email, &password).await {
            Ok(session) => {
                throttle
                    .record_success(&email)
                    .await
                    .map_err(|e| into_gql(e.into()))?;
                Ok(session.into())
            }
            Err(failure) => {
                if failure == super::AuthFailure::BadCredentials {
                    throttle
                        .record_failure(&email, &address)
                        .await
                        .map_err(|e| into_gql(e.into()))?;
                }
                Err(into_gql(failure.into()))
            }
        }
    }

    /// Trades a refresh token for new tokens (the local provider rotates the refresh token:
    /// use the new one next time; reusing an old one revokes the whole session).
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> Result<AuthSession> {
        check_token_length("refreshToken", &refresh_token).map_err(into_gql)?;
        provider(ctx)?
            .refresh_session(&refresh_token)
            .await
            .map(Into::into)
            .map_err(|e| into_gql(e.into()))
    }

    /// Signs out: the given refresh token (or, without one, every session of the caller)
    /// stops working. Access tokens already issued expire on their own.
    async fn sign_out(&self, ctx: &Context<'_>, refresh_token: Option<String>) -> Result<bool> {
        let viewer = guard::viewer(ctx).map_err(into_gql)?;
        let access = ctx
            .data_opt::<BearerToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        provider(ctx)?
            .sign_out(viewer, &access, refresh_token.as_deref())
            .await
            .map_err(|e| into_gql(e.into()))?;
        Ok(true)
    }

    /// Adds the seller role to the caller. Refresh the session to get a token that carries it.
    async fn become_seller(&self, ctx: &Context<'_>) -> Result<Vec<Role>> {
        let viewer: &Viewer = guard::viewer(ctx).map_err(into_gql)?;
        provider(ctx)?
            .add_role(viewer, Role::Seller)
            .await
            .map_err(|e| into_gql(e.into()))?;
        let mut roles = viewer.roles.clone();
        if !roles.contains(&Role::Seller) {
            roles.push(Role::Seller);
        }
        Ok(roles)
    }
}

/// Development-only reads (answer `NOT_SUPPORTED` outside the local provider).
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The development mailbox of the local provider: the messages sent to `email` (activation
    /// codes), newest first. Not available with Cognito or OIDC.
    async fn dev_mailbox(&self, ctx: &Context<'_>, email: String) -> Result<Vec<DevMail>> {
        let email = normalize_email(&email);
        validate_email("email", &email).map_err(into_gql)?;
        match provider(ctx)?.dev_mailbox(&email).await {
            None => Err(into_gql(ApiError::NotSupported(
                "the development mailbox exists only with MERCADO_AUTH=local".into(),
            ))),
            Some(Err(e)) => Err(into_gql(e.into())),
            Some(Ok(mails)) => Ok(mails
                .into_iter()
                .map(|m| DevMail {
                    to: m.to,
                    subject: m.subject,
                    body: m.body,
                    sent_at: m.sent_at,
                })
                .collect()),
        }
    }
}
