//! Logs and traces. Logs go to stderr (text, or JSON with `MERCADO_LOG_FORMAT=json`) filtered
//! by `RUST_LOG`; each carries the `trace_id` of the span it was written in. Traces go over
//! OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set, configured by the standard `OTEL_*` variables the SDK reads (service name, sampler,
//! protocol, headers, batch delay); unset, nothing is exported.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::WithHttpConfig as _;
use opentelemetry_sdk::{
    Resource,
    trace::{Config, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample},
};
use tracing::{Level, Metadata};
use tracing_subscriber::{
    EnvFilter, Layer, filter::filter_fn, layer::SubscriberExt, util::SubscriberInitExt,
};

/// Flushes the spans not yet exported when dropped (at the end of `main`).
pub struct TracingGuard(Option<SdkTracerProvider>);

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("mercado: flushing traces failed: {e}");
        }
    }
}

/// Installs the log and trace layers (once; later calls do nothing).
pub fn init() -> TracingGuard {
    let provider = exporting().then(provider).flatten();
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("mercado"))
            .with_filter(filter_fn(traced))
    });
    // Logs go to stderr so subcommands' stdout stays machine-readable (dev-token prints a token).
    let json = std::env::var("MERCADO_LOG_FORMAT").is_ok_and(|f| f == "json");
    let text_logs = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(log_filter())
    });
    let json_logs = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(log_filter())
    });
    let _ = tracing_subscriber::registry()
        .with(otel)
        .with(text_logs)
        .with(json_logs)
        .try_init();
    TracingGuard(provider)
}

/// What is logged: `RUST_LOG`, or info without the chattier dependencies.
fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn")
    })
}

fn exporting() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()))
        && !std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// What becomes a span: mercado's own at info and above, and each AWS SDK operation (its
/// debug-level span carries `rpc.system`, `rpc.service` and `rpc.method`), whatever `RUST_LOG`
/// says about logs.
fn traced(meta: &Metadata<'_>) -> bool {
    if meta.is_span() && meta.target().starts_with("aws_sdk_") {
        return meta.fields().field("rpc.method").is_some();
    }
    *meta.level() <= Level::INFO
        && !meta.target().starts_with("aws_")
        && !meta.target().starts_with("sqlx")
        && !meta.target().starts_with("h2")
        && !meta.target().starts_with("hyper")
}

fn provider() -> Option<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(SpawningClient::new()?)
        .build();
    let exporter = match exporter {
        Ok(e) => e,
        Err(e) => {
            eprintln!("mercado: traces are not exported: {e}");
            return None;
        }
    };
    // The builder reads OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG)
    // and OTEL_BSP_*; mercado names itself when the first is unset.
    let resource = Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "mercado".to_string()),
        )
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    // The default config's sampler is the one OTEL_TRACES_SAMPLER(_ARG) names.
    let sampler = LoneStoreCallsDropped(Config::default().sampler);
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource)
            .build(),
    )
}

/// Drops a store call that starts a trace of its own (a worker polling the outbox or the due
/// orders, a long poll on a queue): every few hundred milliseconds, each would be a one-span
/// trace of nothing. Store calls made for a request, an event or a saga step belong to that
/// trace and are kept; everything else goes to the configured sampler.
#[derive(Debug, Clone)]
struct LoneStoreCallsDropped(Box<dyn ShouldSample>);

impl ShouldSample for LoneStoreCallsDropped {
    fn should_sample(
        &self,
        parent_context: Option<&opentelemetry::Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        span_kind: &opentelemetry::trace::SpanKind,
        attributes: &[opentelemetry::KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        use opentelemetry::trace::TraceContextExt as _;
        let root = !parent_context.is_some_and(|cx| cx.span().span_context().is_valid());
        // mercado's store spans are `pg.*` and `nats.*`; the AWS SDK's carry `rpc.system`.
        let store_call = name.starts_with("pg.")
            || name.starts_with("nats.")
            || attributes.iter().any(|kv| kv.key.as_str() == "rpc.system");
        if root && store_call {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: Default::default(),
            };
        }
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

/// The exporter's HTTP client: the SDK exports from a thread of its own, outside tokio, so
/// each request runs on the server's runtime (reqwest, like the rest of mercado) and the
/// exporter thread waits for it.
#[derive(Debug)]
struct SpawningClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl SpawningClient {
    fn new() -> Option<Self> {
        Some(Self {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .ok()?,
            runtime: tokio::runtime::Handle::try_current().ok()?,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for SpawningClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let response = client.execute(reqwest::Request::try_from(request)?).await?;
            let mut out = Response::builder().status(response.status());
            if let Some(headers) = out.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await?;
            Ok::<_, HttpError>(out.body(body)?)
        });
        task.await?
    }
}
