//! Amazon Cognito user pools: sign-up, activation, sign-in, refresh and sign-out through the
//! Cognito API; roles are the pool's groups (`buyer`, `seller`), read from `cognito:groups`.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::{
    Client,
    error::{DisplayErrorContext, SdkError},
    types::{AttributeType, AuthFlowType},
};
use mercado_resolvers::{
    Role, Viewer,
    auth::{AuthFailure, IdentityProvider, RefusedInput, Session, SignUpOutcome},
};

pub struct CognitoIdentity {
    client: Client,
    pool_id: String,
    client_id: String,
}

impl CognitoIdentity {
    pub fn new(client: Client, pool_id: String, client_id: String) -> Self {
        Self {
            client,
            pool_id,
            client_id,
        }
    }

    async fn add_to_group(&self, username: &str, role: Role) -> Result<(), AuthFailure> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(role.as_str())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("add user to group", &e))
    }
}

fn unavailable<E, R>(what: &str, e: &SdkError<E, R>) -> AuthFailure
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    AuthFailure::Unavailable(format!("cognito {what}: {}", DisplayErrorContext(e)))
}

fn session(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
) -> Result<Session, AuthFailure> {
    let r = result.ok_or_else(|| {
        AuthFailure::NotSupported("Cognito asked for a challenge this API does not handle".into())
    })?;
    Ok(Session {
        access_token: r
            .access_token()
            .ok_or_else(|| AuthFailure::Internal("no access token".into()))?
            .to_string(),
        id_token: r.id_token().map(str::to_string),
        refresh_token: r.refresh_token().map(str::to_string),
        expires_in_seconds: i64::from(r.expires_in()),
    })
}

#[async_trait]
impl IdentityProvider for CognitoIdentity {
    fn name(&self) -> &'static str {
        "cognito"
    }

    async fn sign_up(
        &self,
        email: &str,
        password: &str,
        roles: &[Role],
    ) -> Result<SignUpOutcome, AuthFailure> {
        let out = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(email)
            .password(password)
            .user_attributes(
                AttributeType::builder()
                    .name("email")
                    .value(email)
                    .build()
                    .map_err(|e| AuthFailure::Internal(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_username_exists_exception() => AuthFailure::AlreadyExists,
                Some(s) if s.is_invalid_password_exception() => AuthFailure::Refused {
                    what: RefusedInput::Password,
                    message: s.to_string(),
                },
                Some(s) if s.is_invalid_parameter_exception() => AuthFailure::Refused {
                    what: RefusedInput::SignUp,
                    message: s.to_string(),
                },
                _ => unavailable("sign up", &e),
            })?;
        for role in roles {
            self.add_to_group(email, *role).await?;
        }
        Ok(SignUpOutcome {
            user_id: out.user_sub().to_string(),
            confirmation_required: !out.user_confirmed(),
        })
    }

    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), AuthFailure> {
        self.client
            .confirm_sign_up()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(s)
                    if s.is_code_mismatch_exception()
                        || s.is_expired_code_exception()
                        || s.is_user_not_found_exception() =>
                {
                    AuthFailure::BadCode
                }
                _ => unavailable("confirm sign up", &e),
            })
    }

    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, AuthFailure> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_not_authorized_exception() || s.is_user_not_found_exception() => {
                    AuthFailure::BadCredentials
                }
                Some(s) if s.is_user_not_confirmed_exception() => AuthFailure::NotConfirmed,
                _ => unavailable("sign in", &e),
            })?;
        session(out.authentication_result())
    }

    async fn refresh_session(&self, refresh_token: &str) -> Result<Session, AuthFailure> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_not_authorized_exception() || s.is_user_not_found_exception() => {
                    AuthFailure::BadRefreshToken
                }
                _ => unavailable("refresh", &e),
            })?;
        session(out.authentication_result())
    }

    async fn sign_out(
        &self,
        _viewer: &Viewer,
        access_token: &str,
        refresh_token: Option<&str>,
    ) -> Result<(), AuthFailure> {
        match refresh_token {
            Some(token) => self
                .client
                .revoke_token()
                .client_id(&self.client_id)
                .token(token)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_unsupported_token_type_exception() => {
                        AuthFailure::BadRefreshToken
                    }
                    _ => unavailable("revoke token", &e),
                }),
            None => self
                .client
                .global_sign_out()
                .access_token(access_token)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_not_authorized_exception() => AuthFailure::BadCredentials,
                    _ => unavailable("global sign out", &e),
                }),
        }
    }

    async fn add_role(&self, viewer: &Viewer, role: Role) -> Result<(), AuthFailure> {
        self.add_to_group(&viewer.subject, role).await
    }
}
