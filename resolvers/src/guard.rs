//! Guards: who may call what. Distinct codes for "who are you?" and "you may not".

use async_graphql::Context;

use crate::{ApiError, Role, Viewer};

/// The signed-in viewer, or `UNAUTHENTICATED`.
pub fn viewer<'a>(ctx: &'a Context<'_>) -> Result<&'a Viewer, ApiError> {
    ctx.data_opt::<Option<Viewer>>()
        .and_then(Option::as_ref)
        .ok_or_else(|| ApiError::Unauthenticated("sign in first: no bearer token".into()))
}

/// The signed-in viewer holding `role`, or `UNAUTHENTICATED` / `FORBIDDEN`.
pub fn require_role<'a>(ctx: &'a Context<'_>, role: Role) -> Result<&'a Viewer, ApiError> {
    let viewer = viewer(ctx)?;
    if viewer.has_role(role) {
        Ok(viewer)
    } else {
        Err(ApiError::Forbidden(format!(
            "the {} role is required",
            role.as_str()
        )))
    }
}
