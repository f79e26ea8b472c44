//! The Cognito user pool, its groups and its public app client.

use aws_sdk_cognitoidentityprovider::{
    Client,
    error::DisplayErrorContext,
    types::{ExplicitAuthFlowsType, PasswordPolicyType, UsernameAttributeType},
};
use mercado_resolvers::{Role, auth::PASSWORD_MIN_CHARS};

use crate::StartupError;

/// Finds the user pool named `pool_name` (or creates it with mercado's password policy, email
/// sign-in and the `buyer` and `seller` groups), and its public app client `mercado-web`.
/// Returns (pool id, client id).
pub async fn provision_cognito(
    client: &Client,
    pool_name: &str,
) -> Result<(String, String), StartupError> {
    let aws = |what: &str, e: String| StartupError::Aws(format!("cognito {what}: {e}"));
    let pools = client
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .map_err(|e| aws("list pools", DisplayErrorContext(&e).to_string()))?;
    let existing = pools
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(pool_name))
        .and_then(|p| p.id().map(str::to_string));
    let pool_id = match existing {
        Some(id) => id,
        None => client
            .create_user_pool()
            .pool_name(pool_name)
            .username_attributes(UsernameAttributeType::Email)
            .policies(
                aws_sdk_cognitoidentityprovider::types::UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(i32::try_from(PASSWORD_MIN_CHARS).unwrap_or(10))
                            .require_numbers(true)
                            .require_lowercase(false)
                            .require_uppercase(false)
                            .require_symbols(false)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws("create pool", DisplayErrorContext(&e).to_string()))?
            .user_pool()
            .and_then(|p| p.id().map(str::to_string))
            .ok_or_else(|| aws("create pool", "no id".into()))?,
    };
    for role in [Role::Buyer, Role::Seller] {
        let created = client
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(role.as_str())
            .send()
            .await;
        if let Err(e) = created
            && !e
                .as_service_error()
                .is_some_and(|s| s.is_group_exists_exception())
        {
            return Err(aws("create group", DisplayErrorContext(&e).to_string()));
        }
    }
    let clients = client
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .max_results(60)
        .send()
        .await
        .map_err(|e| aws("list clients", DisplayErrorContext(&e).to_string()))?;
    let client_id = match clients
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some("mercado-web"))
        .and_then(|c| c.client_id().map(str::to_string))
    {
        Some(id) => id,
        None => client
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("mercado-web")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .map_err(|e| aws("create client", DisplayErrorContext(&e).to_string()))?
            .user_pool_client()
            .and_then(|c| c.client_id().map(str::to_string))
            .ok_or_else(|| aws("create client", "no id".into()))?,
    };
    Ok((pool_id, client_id))
}
