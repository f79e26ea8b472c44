//! The GraphQL edge: what every document passes before async-graphql validates or runs it, on
//! every transport (POST, GET, WebSocket). In order: a persisted document is looked up by hash
//! (automatic persisted queries, or the trusted-documents manifest, in which case nothing else
//! runs); the text is bounded in bytes, tokens and nesting; it is parsed (off the async
//! workers when large); what it expands to is measured (fragments once each) and bounded in
//! complexity, aliases, directives and depth; execution gets a deadline. Every refusal carries
//! `extensions.code`, the limit it passed, the limit and the value.

pub mod cost;
pub mod persisted;

use std::{any::TypeId, num::NonZeroUsize, sync::Arc, time::Duration};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest,
        NextValidation,
    },
    parser::{
        parse_query,
        types::{DocumentOperations, ExecutableDocument, OperationType},
    },
};

use persisted::{Admitted, DocumentCache, requested_hash, sha256_hex};
pub use persisted::{ManifestError, TrustedDocuments};

/// Bounds on what one GraphQL document may cost. Each is a server setting (see the README's
/// Limits table); the defaults are generous for real clients and fatal for abusive ones.
#[derive(Clone, Debug)]
pub struct EdgeLimits {
    /// Bytes of document text.
    pub max_document_bytes: usize,
    /// Lexical tokens (names, punctuators, values; not commas, whitespace or comments).
    pub max_tokens: usize,
    /// Nesting of `{`, `[` and `(` in the text.
    pub max_nesting: usize,
    /// Fields, fragment spreads and inline fragments the document expands to, fragments
    /// inlined: the work validation and execution will do.
    pub max_complexity: usize,
    /// Aliased fields, fragments inlined.
    pub max_aliases: usize,
    /// Directives on one field, fragment or operation.
    pub max_directives: usize,
    /// Field nesting, outside introspection.
    pub max_depth: usize,
    /// Field nesting under `__schema` / `__type` (the standard introspection query needs ~15).
    pub max_introspection_depth: usize,
    /// Time a query or mutation may run before it is answered with `TIMEOUT`.
    pub timeout: Duration,
    /// Whether `__schema` and `__type` answer (turn off in production if clients are known).
    pub introspection: bool,
    /// Documents remembered for automatic persisted queries; 0 turns APQ off.
    pub apq_cache_entries: usize,
}

impl EdgeLimits {
    /// The defaults (the server's flags default to these too).
    pub const DEFAULT: Self = Self {
        max_document_bytes: 64 * 1024,
        max_tokens: 5_000,
        max_nesting: 64,
        max_complexity: 2_000,
        max_aliases: 64,
        max_directives: 5,
        max_depth: 12,
        max_introspection_depth: 20,
        timeout: Duration::from_secs(10),
        introspection: true,
        apq_cache_entries: 1_000,
    };
}

impl Default for EdgeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Documents above this size are parsed and measured on the blocking pool, so that a large
/// document never holds an async worker (and with it health checks and WebSocket pings).
const PARSE_INLINE_BYTES: usize = 8 * 1024;

/// Why the edge refused a request before executing it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the document is {actual} bytes; at most {max} are accepted")]
    TooLarge { max: usize, actual: usize },
    #[error("{}", too_complex_message(limit, *max, *actual, on.as_deref()))]
    TooComplex {
        limit: &'static str,
        max: usize,
        actual: usize,
        on: Option<String>,
    },
    #[error("fragment `{0}` spreads itself (directly or through others)")]
    FragmentCycle(String),
    #[error("{0}")]
    Parse(String),
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    #[error("PersistedQueryNotSupported")]
    PersistedQueryNotSupported,
    #[error("the document does not hash to {0}")]
    HashMismatch(String),
    #[error("only trusted documents run on this server; this one is not in its manifest")]
    NotTrusted,
    #[error("introspection is turned off on this server")]
    IntrospectionDisabled,
    #[error("mutations must use POST")]
    MutationOverGet,
    #[error("{field}: {message}")]
    BadRequest {
        field: &'static str,
        message: &'static str,
    },
}

fn too_complex_message(limit: &str, max: usize, actual: usize, on: Option<&str>) -> String {
    let on = on.map(|o| format!(" on {o}")).unwrap_or_default();
    format!("the document is over its {limit} limit{on}: {actual} > {max}")
}

impl Refusal {
    pub fn too_complex(limit: &'static str, max: usize, actual: usize) -> Self {
        Self::TooComplex {
            limit,
            max,
            actual,
            on: None,
        }
    }

    pub fn bad_request(field: &'static str, message: &'static str) -> Self {
        Self::BadRequest { field, message }
    }

    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => codes::DOCUMENT_TOO_LARGE,
            Self::TooComplex { .. } => codes::QUERY_TOO_COMPLEX,
            Self::FragmentCycle(_) => codes::GRAPHQL_VALIDATION_FAILED,
            Self::Parse(_) => codes::GRAPHQL_PARSE_FAILED,
            Self::PersistedQueryNotFound => codes::PERSISTED_QUERY_NOT_FOUND,
            Self::PersistedQueryNotSupported => codes::PERSISTED_QUERY_NOT_SUPPORTED,
            Self::HashMismatch(_) => codes::PERSISTED_QUERY_HASH_MISMATCH,
            Self::NotTrusted => codes::DOCUMENT_NOT_TRUSTED,
            Self::MutationOverGet => codes::METHOD_NOT_ALLOWED,
            Self::IntrospectionDisabled => codes::INTROSPECTION_DISABLED,
            Self::BadRequest { .. } => codes::BAD_REQUEST,
        }
    }

    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.to_string(), None);
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", self.code());
        match &self {
            Self::TooLarge { max, actual } => {
                ext.set("limit", "maxDocumentBytes");
                ext.set("max", *max);
                ext.set("actual", *actual);
            }
            Self::TooComplex {
                limit, max, actual, ..
            } => {
                ext.set("limit", *limit);
                ext.set("max", *max);
                ext.set("actual", *actual);
            }
            Self::BadRequest { field, .. } => ext.set("field", *field),
            _ => {}
        }
        error
    }
}

/// The codes the edge (and the HTTP layer in front of it) answers with.
pub mod codes {
    pub const DOCUMENT_TOO_LARGE: &str = "DOCUMENT_TOO_LARGE";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    pub const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
    pub const DOCUMENT_NOT_TRUSTED: &str = "DOCUMENT_NOT_TRUSTED";
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const TIMEOUT: &str = "TIMEOUT";
}

/// Request data marking a request that must not mutate (an HTTP GET): the edge refuses a
/// mutation once it knows which operation will run, persisted documents included.
pub struct ReadOnly;

/// The async-graphql extension that applies [`EdgeLimits`] (and persisted documents) to every
/// request, whatever its transport.
#[derive(Clone)]
pub struct EdgeGuard(Arc<Gate>);

struct Gate {
    limits: EdgeLimits,
    apq: Option<DocumentCache>,
    trusted: Option<TrustedDocuments>,
    /// Recently admitted documents by their text: clients send the same few documents over
    /// and over, and admitting one (lexing, parsing, measuring) is a large part of a small
    /// query's cost. Only documents up to [`PARSE_INLINE_BYTES`] (so at most 8 MB), only
    /// admitted ones (a refused document pays in full every time).
    admitted: DocumentCache,
}

/// Admitted documents the gate remembers by text.
const ADMITTED_CACHE_ENTRIES: NonZeroUsize = NonZeroUsize::new(1_000).expect("not zero");

impl EdgeGuard {
    /// `trusted`: when set, only the manifest's documents run (APQ is then off).
    pub fn new(limits: EdgeLimits, trusted: Option<TrustedDocuments>) -> Self {
        let apq = match (&trusted, NonZeroUsize::new(limits.apq_cache_entries)) {
            (None, Some(entries)) => Some(DocumentCache::new(entries)),
            _ => None,
        };
        Self(Arc::new(Gate {
            limits,
            apq,
            trusted,
            admitted: DocumentCache::new(ADMITTED_CACHE_ENTRIES),
        }))
    }

    pub fn limits(&self) -> &EdgeLimits {
        &self.0.limits
    }

    /// Loads a trusted-documents manifest, checking each body against `limits` now.
    pub fn load_manifest(
        limits: &EdgeLimits,
        json: &str,
    ) -> Result<TrustedDocuments, ManifestError> {
        TrustedDocuments::from_manifest(json, |text| admit_text(text, limits))
    }
}

/// Bounds the text, parses it and bounds what it expands to.
fn admit_text(text: &str, limits: &EdgeLimits) -> Result<ExecutableDocument, Refusal> {
    if text.len() > limits.max_document_bytes {
        return Err(Refusal::TooLarge {
            max: limits.max_document_bytes,
            actual: text.len(),
        });
    }
    cost::check_lexical(text, limits)?;
    let doc = parse_query(text).map_err(|e| Refusal::Parse(e.to_string()))?;
    cost::check_document(&doc, limits)?;
    Ok(doc)
}

impl Gate {
    async fn admit(&self, request: &Request) -> Result<Admitted, Refusal> {
        let hash = requested_hash(&request.extensions)?;
        let text = request.query.as_str();
        if let Some(trusted) = &self.trusted {
            let hash = match hash {
                Some(h) => h,
                None => sha256_hex(text),
            };
            let found = trusted.get(&hash).ok_or(Refusal::NotTrusted)?;
            if !text.is_empty() && found.text != text {
                return Err(Refusal::HashMismatch(hash));
            }
            return Ok(found);
        }
        if let Some(hash) = &hash {
            let cache = self
                .apq
                .as_ref()
                .ok_or(Refusal::PersistedQueryNotSupported)?;
            if text.is_empty() {
                return cache.get(hash).ok_or(Refusal::PersistedQueryNotFound);
            }
            if sha256_hex(text) != *hash {
                return Err(Refusal::HashMismatch(hash.clone()));
            }
        }
        let remembered = text.len() <= PARSE_INLINE_BYTES;
        if remembered && let Some(admitted) = self.admitted.get(text) {
            return Ok(admitted);
        }
        let admitted = Admitted {
            text: text.to_string(),
            doc: self.parse(text).await?,
        };
        if remembered {
            self.admitted.put(text.to_string(), admitted.clone());
        }
        if let (Some(hash), Some(cache)) = (hash, &self.apq) {
            cache.put(hash, admitted.clone());
        }
        Ok(admitted)
    }

    async fn parse(&self, text: &str) -> Result<ExecutableDocument, Refusal> {
        if text.trim().is_empty() {
            return Err(Refusal::bad_request("query", "is required"));
        }
        if text.len() <= PARSE_INLINE_BYTES || text.len() > self.limits.max_document_bytes {
            return admit_text(text, &self.limits);
        }
        let (text, limits) = (text.to_string(), self.limits.clone());
        tokio::task::spawn_blocking(move || admit_text(&text, &limits))
            .await
            .unwrap_or_else(|e| Err(Refusal::Parse(format!("parser failed: {e}"))))
    }
}

/// The name (when it has one) and type of the operation a request will run, when the document
/// says unambiguously.
pub(crate) fn selected_operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'d str>, OperationType)> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some((None, op.node.ty)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(name, op)| (Some(name.as_str()), op.node.ty)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .iter()
            .next()
            .map(|(name, op)| (Some(name.as_str()), op.node.ty)),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

impl ExtensionFactory for EdgeGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for EdgeGuard {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let admitted = self
            .0
            .admit(&request)
            .await
            .map_err(Refusal::into_server_error)?;
        if request.data.contains_key(&TypeId::of::<ReadOnly>())
            && selected_operation(&admitted.doc, request.operation_name.as_deref())
                .is_some_and(|(_, ty)| ty == OperationType::Mutation)
        {
            return Err(Refusal::MutationOverGet.into_server_error());
        }
        request.query = admitted.text;
        request.set_parsed_query(admitted.doc);
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut e| {
                    let ext = e.extensions.get_or_insert_with(Default::default);
                    if ext.get("code").is_none() {
                        ext.set("code", codes::GRAPHQL_VALIDATION_FAILED);
                    }
                    e
                })
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let timeout = self.0.limits.timeout;
        match tokio::time::timeout(timeout, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            Err(_) => {
                let mut error = ServerError::new(
                    format!(
                        "the operation did not finish within {} ms; a mutation may or may not have taken effect",
                        timeout.as_millis()
                    ),
                    None,
                );
                let ext = error.extensions.get_or_insert_with(Default::default);
                ext.set("code", codes::TIMEOUT);
                ext.set("limit", "timeoutMs");
                ext.set(
                    "max",
                    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                );
                Response::from_errors(vec![error])
            }
        }
    }
}
