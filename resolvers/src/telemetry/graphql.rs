//! Traces and measures every GraphQL operation: a `graphql` span (under the HTTP request's)
//! named after the operation, with its type and outcome, and the request metrics.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{
    Request, Response, ServerResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest,
        NextSubscribe,
    },
    futures_util::stream::BoxStream,
    parser::types::OperationType,
};
use futures::StreamExt;
use tracing::{Instrument, field::Empty};

use super::{Live, metrics};
use crate::edge::selected_operation;

/// The schema extension; register it after the edge guard, so it sees the admitted document.
pub struct GraphqlTelemetry;

impl ExtensionFactory for GraphqlTelemetry {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Operation::default())
    }
}

/// One request's operation, as far as it got: its name and type once the document is known.
#[derive(Default)]
struct Operation {
    selected: Mutex<Option<(Option<String>, &'static str)>>,
}

fn type_name(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// "ok", or the first error's `extensions.code`.
fn outcome(response: &Response) -> String {
    match response.errors.first() {
        None => "ok".into(),
        Some(e) => code_of(e),
    }
}

fn code_of(e: &async_graphql::ServerError) -> String {
    match e.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(code)) => code.clone(),
        _ => "INTERNAL".into(),
    }
}

#[async_trait::async_trait]
impl Extension for Operation {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let span = tracing::info_span!(
            "graphql",
            graphql.operation.name = Empty,
            graphql.operation.type = Empty,
            mercado.outcome = Empty,
        );
        let started = Instant::now();
        let response = next.run(ctx).instrument(span.clone()).await;
        let (name, ty) = self
            .selected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or((None, "unknown"));
        let outcome = outcome(&response);
        let m = metrics();
        let label = m.operation_label(name.as_deref());
        super::rename(&span, format!("{ty} {label}"));
        span.record("graphql.operation.type", ty);
        if let Some(name) = &name {
            span.record("graphql.operation.name", name.as_str());
        }
        span.record("mercado.outcome", outcome.as_str());
        m.graphql_request(label, ty, &outcome, started.elapsed());
        for e in &response.errors {
            m.graphql_errors
                .get_or_create(&super::metrics::CodeLabel { code: code_of(e) })
                .inc();
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let name = request.operation_name.clone();
        if let Ok(doc) = request.parsed_query()
            && let Some((found, ty)) = selected_operation(doc, name.as_deref())
        {
            *self.selected.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((found.map(str::to_string), type_name(ty)));
        }
        next.run(ctx, request).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let live = Live::new(&metrics().subscriptions_active);
        next.run(ctx, stream)
            .map(move |response| {
                let _running = &live;
                response
            })
            .boxed()
    }
}
