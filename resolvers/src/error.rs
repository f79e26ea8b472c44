//! Error codes. Every error a client sees carries `extensions.code` (stable, documented in the
//! README) and, for bad input, `extensions.field` naming the offending field.

use async_graphql::ErrorExtensions;

/// An error as the API reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Input that breaks a rule; `field` is the path of the offending field (e.g. `input.name`).
    #[error("{field}: {message}")]
    BadUserInput { field: String, message: String },
    /// No token, or a token that failed verification.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid token that is not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A write lost a race, or the thing already exists.
    #[error("{0}")]
    Conflict(String),
    /// `expectedVersion` is not the current version: re-read and retry.
    #[error("the product changed: current version is {current_version}")]
    StaleVersion { current_version: i64 },
    /// Too many attempts (sign-in throttling); retry after `retry_after_seconds`.
    #[error("too many attempts: retry in {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: i64 },
    /// The configured provider cannot do this (e.g. sign-up with an external OIDC issuer).
    #[error("{0}")]
    NotSupported(String),
    /// A dependency (database, read model, bus) did not answer.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A defect. The message reaching the client is generic; the detail is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) | Self::StaleVersion { .. } => "CONFLICT",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::NotSupported(_) => "NOT_SUPPORTED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The field a bad-input error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadUserInput { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(field) = self.field() {
                ext.set("field", field);
            }
            // Every input error lists its violations, one or many, so clients read one shape.
            if let Self::BadUserInput { field, message } = self {
                let mut violation = async_graphql::indexmap::IndexMap::new();
                violation.insert(
                    async_graphql::Name::new("field"),
                    async_graphql::Value::from(field.as_str()),
                );
                violation.insert(
                    async_graphql::Name::new("message"),
                    async_graphql::Value::from(message.as_str()),
                );
                ext.set(
                    "violations",
                    async_graphql::Value::List(vec![async_graphql::Value::Object(violation)]),
                );
            }
            if let Self::StaleVersion { current_version } = self {
                ext.set("currentVersion", *current_version);
            }
            if let Self::TooManyRequests {
                retry_after_seconds,
            } = self
            {
                ext.set("retryAfterSeconds", *retry_after_seconds);
            }
        })
    }
}

/// What a port implementation (a store) reports; mapped onto [`ApiError`] at the resolver.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// An optimistic-concurrency check failed; `current` is the stored version.
    #[error("stale version: current is {current}")]
    StaleVersion { current: i64 },
    /// The caller does not own the thing.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The store refused part of a request, said in the store's own terms; the resolver that
    /// made the request names the GraphQL field (see [`StoreError::naming`]).
    #[error("{what:?}: {message}")]
    Rejected { what: Rejected, message: String },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// Which part of a request a store refused. Adapters know requests, not GraphQL: the
/// resolver maps each onto the field its client sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// A paging cursor (`after`): malformed, or from another listing.
    Cursor,
    /// The SKU of the request's `n`th new variant (0 when it has one).
    Sku(usize),
    /// The product the request names.
    Product,
    /// The variant the request names.
    Variant,
    /// The stock level the request would reach.
    Stock,
    /// The variant of the order's `n`th line.
    OrderLine(usize),
    /// The order's lines as a whole.
    OrderLines,
}

impl StoreError {
    /// The API error, naming the field of a [`StoreError::Rejected`] with `field`.
    pub fn naming(self, field: impl FnOnce(Rejected) -> String) -> ApiError {
        match self {
            StoreError::Rejected { what, message } => ApiError::BadUserInput {
                field: field(what),
                message,
            },
            other => other.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::StaleVersion { current } => ApiError::StaleVersion {
                current_version: current,
            },
            StoreError::Forbidden(m) => ApiError::Forbidden(m),
            // A paging cursor is always the `after` argument; a resolver that can be refused
            // anything else names the field with `naming` (this is the fallback).
            StoreError::Rejected { what, message } => ApiError::BadUserInput {
                field: match what {
                    Rejected::Cursor => "after".into(),
                    other => format!("{other:?}"),
                },
                message,
            },
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// Resolver results: `?` on [`ApiError`] and [`StoreError`], then `.map_err(into_gql)`.
pub type ApiResult<T> = Result<T, ApiError>;

/// Turns an [`ApiError`] into the coded GraphQL error.
pub fn into_gql(err: ApiError) -> async_graphql::Error {
    err.extend()
}

/// Several input violations as one `BAD_USER_INPUT` error: `field` names the first,
/// `violations` lists every `{field, message}` so a form can mark them all at once.
pub fn violations_into_gql(errors: Vec<ApiError>) -> async_graphql::Error {
    let Some(first) = errors.first() else {
        return into_gql(ApiError::Internal(
            "validation failed without a reason".into(),
        ));
    };
    let mut err = first.extend();
    let list: Vec<async_graphql::Value> = errors
        .iter()
        .map(|e| {
            let mut v = async_graphql::indexmap::IndexMap::new();
            v.insert(
                async_graphql::Name::new("field"),
                async_graphql::Value::from(e.field().unwrap_or_default()),
            );
            // The field is named beside it: the message is the bare reason, for a form to
            // show next to that field.
            let message = match e {
                ApiError::BadUserInput { message, .. } => message.clone(),
                other => other.to_string(),
            };
            v.insert(
                async_graphql::Name::new("message"),
                async_graphql::Value::from(message),
            );
            async_graphql::Value::Object(v)
        })
        .collect();
    err = err.extend_with(|_, ext| ext.set("violations", async_graphql::Value::List(list)));
    err
}
