//! Every metric mercado exports, in one registry, as Prometheus/OpenMetrics text at `/metrics`.
//! Counters and histograms are updated where things happen; the gauges that describe stored
//! state (outbox backlog, orders by status, pool use) are set just before each scrape.

use std::{
    collections::HashSet,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Distinct operation names kept as labels; beyond them an operation is counted as `other`
/// (names come from clients, and every distinct label is a time series).
const MAX_OPERATION_NAMES: usize = 256;

const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const LAG_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
    #[prometheus(flatten)]
    pub rest: TypeOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeOutcome {
    pub r#type: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabel {
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumerLabels {
    pub consumer: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub step: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

type Seconds = Gauge<f64, std::sync::atomic::AtomicU64>;

/// The metric families (names as exported, less the `_total` suffix counters get).
pub struct Metrics {
    registry: Registry,
    operations: Mutex<HashSet<String>>,
    pub graphql_requests: Family<OperationLabels, Counter>,
    pub graphql_duration: Family<OperationLabels, Histogram>,
    pub graphql_errors: Family<CodeLabel, Counter>,
    pub outbox_backlog: Gauge,
    pub outbox_oldest_age: Seconds,
    pub outbox_published: Counter,
    pub outbox_publish_failures: Counter,
    pub projection_lag: Family<ModelLabel, Histogram>,
    pub consumer_messages: Family<ConsumerLabels, Counter>,
    pub dead_letters: Family<QueueLabel, Gauge>,
    pub reconciler_repairs: Family<KindLabel, Counter>,
    pub orders: Family<StatusLabel, Gauge>,
    pub saga_step_duration: Family<StepLabels, Histogram>,
    pub saga_oldest_active_age: Seconds,
    pub websockets_open: Gauge,
    pub subscriptions_active: Gauge,
    pub db_pool: Family<StateLabel, Gauge>,
    pub signin_throttled: Counter,
    pub rate_limited: Counter,
}

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn lag() -> Histogram {
    Histogram::new(LAG_BUCKETS)
}

impl Metrics {
    fn new() -> Self {
        let mut r = Registry::default();
        let m = Self {
            registry: Registry::default(),
            operations: Mutex::default(),
            graphql_requests: Family::default(),
            graphql_duration: Family::new_with_constructor(latency),
            graphql_errors: Family::default(),
            outbox_backlog: Gauge::default(),
            outbox_oldest_age: Seconds::default(),
            outbox_published: Counter::default(),
            outbox_publish_failures: Counter::default(),
            projection_lag: Family::new_with_constructor(lag),
            consumer_messages: Family::default(),
            dead_letters: Family::default(),
            reconciler_repairs: Family::default(),
            orders: Family::default(),
            saga_step_duration: Family::new_with_constructor(latency),
            saga_oldest_active_age: Seconds::default(),
            websockets_open: Gauge::default(),
            subscriptions_active: Gauge::default(),
            db_pool: Family::default(),
            signin_throttled: Counter::default(),
            rate_limited: Counter::default(),
        };
        r.register(
            "mercado_graphql_requests",
            "GraphQL operations by name, type and outcome (\"ok\" or the first error's code)",
            m.graphql_requests.clone(),
        );
        r.register(
            "mercado_graphql_request_duration_seconds",
            "GraphQL operation latency",
            m.graphql_duration.clone(),
        );
        r.register(
            "mercado_graphql_errors",
            "GraphQL errors by extensions.code",
            m.graphql_errors.clone(),
        );
        r.register(
            "mercado_outbox_backlog",
            "Events in the outbox not yet published",
            m.outbox_backlog.clone(),
        );
        r.register(
            "mercado_outbox_oldest_age_seconds",
            "Age of the oldest unpublished event (0 when none)",
            m.outbox_oldest_age.clone(),
        );
        r.register(
            "mercado_outbox_published",
            "Events the relay published (or superseded by a newer document)",
            m.outbox_published.clone(),
        );
        r.register(
            "mercado_outbox_publish_failures",
            "Events a publish failed for (retried later)",
            m.outbox_publish_failures.clone(),
        );
        r.register(
            "mercado_projection_lag_seconds",
            "From an event's commit to its application in a read model",
            m.projection_lag.clone(),
        );
        r.register(
            "mercado_consumer_messages",
            "Consumer deliveries by consumer and outcome (received, acked, retried, dead_lettered)",
            m.consumer_messages.clone(),
        );
        r.register(
            "mercado_dead_letter_messages",
            "Messages waiting in a dead-letter queue",
            m.dead_letters.clone(),
        );
        r.register(
            "mercado_reconciler_repairs",
            "Read-model items the reconciler repaired, by kind",
            m.reconciler_repairs.clone(),
        );
        r.register("mercado_orders", "Orders by status", m.orders.clone());
        r.register(
            "mercado_saga_step_duration_seconds",
            "Saga step latency by the status it started from and its outcome",
            m.saga_step_duration.clone(),
        );
        r.register(
            "mercado_saga_oldest_active_age_seconds",
            "Time since the least recently advanced unfinished order changed (0 when none)",
            m.saga_oldest_active_age.clone(),
        );
        r.register(
            "mercado_websockets_open",
            "Open GraphQL WebSockets",
            m.websockets_open.clone(),
        );
        r.register(
            "mercado_subscriptions_active",
            "Running GraphQL subscriptions",
            m.subscriptions_active.clone(),
        );
        r.register(
            "mercado_db_pool_connections",
            "PostgreSQL pool connections by state (in_use, idle, max)",
            m.db_pool.clone(),
        );
        r.register(
            "mercado_signin_throttled",
            "Sign-in attempts refused by the throttle",
            m.signin_throttled.clone(),
        );
        r.register(
            "mercado_rate_limited",
            "GraphQL requests refused by the rate limits",
            m.rate_limited.clone(),
        );
        r.register(
            "mercado_build_info",
            "Always 1; the version is a label",
            build_info(),
        );
        // The reconciler runs daily: its counters exist (at 0) from the start, so a dashboard
        // or an alert reading them finds the series before the first pass.
        for kind in ["repaired", "removed"] {
            m.reconciler_repairs
                .get_or_create(&KindLabel {
                    kind: kind.to_string(),
                })
                .inc_by(0);
        }
        Self { registry: r, ..m }
    }

    /// The OpenMetrics text of every family.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// The label for an operation name: the name itself for the first
    /// [`MAX_OPERATION_NAMES`], `other` after, `anonymous` without one.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        let mut known = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        if known.contains(name) {
            return name.to_string();
        }
        if known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_string());
            return name.to_string();
        }
        "other".into()
    }

    /// Counts one GraphQL operation and its latency.
    pub fn graphql_request(&self, operation: String, ty: &str, outcome: &str, took: Duration) {
        let labels = OperationLabels {
            operation,
            rest: TypeOutcome {
                r#type: ty.to_string(),
                outcome: outcome.to_string(),
            },
        };
        self.graphql_requests.get_or_create(&labels).inc();
        self.graphql_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Times one saga step: `step` is the status it started from, `outcome` where it went.
    pub fn saga_step(&self, step: &str, outcome: &str, took: Duration) {
        self.saga_step_duration
            .get_or_create(&StepLabels {
                step: step.to_string(),
                outcome: outcome.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// One event applied to `model`, `lag` after its commit.
    pub fn projected(&self, model: &str, lag: Duration) {
        self.projection_lag
            .get_or_create(&ModelLabel {
                model: model.to_string(),
            })
            .observe(lag.as_secs_f64());
    }

    pub fn repaired(&self, kind: &str, n: u64) {
        if n > 0 {
            self.reconciler_repairs
                .get_or_create(&KindLabel {
                    kind: kind.to_string(),
                })
                .inc_by(n);
        }
    }

    /// Sets a labelled gauge that describes stored state (set before each scrape).
    pub fn set_orders(&self, status: &str, n: i64) {
        self.orders
            .get_or_create(&StatusLabel {
                status: status.to_string(),
            })
            .set(n);
    }

    pub fn set_db_pool(&self, state: &str, n: i64) {
        self.db_pool
            .get_or_create(&StateLabel {
                state: state.to_string(),
            })
            .set(n);
    }

    pub fn set_dead_letters(&self, queue: &str, n: i64) {
        self.dead_letters
            .get_or_create(&QueueLabel {
                queue: queue.to_string(),
            })
            .set(n);
    }

    pub fn consumer(&self, consumer: &str, outcome: &str, n: u64) {
        if n > 0 {
            self.consumer_messages
                .get_or_create(&ConsumerLabels {
                    consumer: consumer.to_string(),
                    outcome: outcome.to_string(),
                })
                .inc_by(n);
        }
    }
}

fn build_info() -> Family<Vec<(String, String)>, Gauge> {
    let family = Family::<Vec<(String, String)>, Gauge>::default();
    family
        .get_or_create(&vec![(
            "version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        )])
        .set(1);
    family
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Counts one running item (a WebSocket, a subscription) while it lives.
pub struct Live(&'static Gauge);

impl Live {
    pub fn new(gauge: &'static Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_come_out_under_their_names() {
        let m = Metrics::new();
        let op = m.operation_label(Some("Catalog"));
        m.graphql_request(op, "query", "ok", Duration::from_millis(3));
        let text = m.encode();
        assert!(
            text.contains(
                r#"mercado_graphql_requests_total{operation="Catalog",type="query",outcome="ok"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("mercado_graphql_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE mercado_outbox_backlog gauge"),
            "{text}"
        );
    }

    #[test]
    fn operation_names_stop_growing_the_label_set() {
        let m = Metrics::new();
        for i in 0..MAX_OPERATION_NAMES {
            assert_eq!(m.operation_label(Some(&format!("op{i}"))), format!("op{i}"));
        }
        assert_eq!(m.operation_label(Some("one-too-many")), "other");
        assert_eq!(m.operation_label(Some("op7")), "op7");
        assert_eq!(m.operation_label(None), "anonymous");
    }
}
