//! Wiring: builds every adapter from one configuration and hands each out as the port it
//! implements. The server and the tests use the same constructor, so tests drive exactly what
//! production runs.

use std::sync::Arc;

use mercado_resolvers::{
    Ports,
    catalog::CatalogChanges,
    inventory::StockHolds,
    purchases::{PaymentGateway, SagaStore, SagaWakeups, saga::SagaRunner},
    search::{SearchIndex, SearchOff},
};
use sqlx::PgPool;

use crate::{
    StartupError,
    adapters::auth::TokenVerifier,
    adapters::bus::{EventBridgePublisher, InProcessPublisher, SqsInbox, nats},
    adapters::dynamo::{DynamoCatalog, DynamoProfiles},
    adapters::postgres::{
        self, AdvisoryLock, PgInventory, PgSignInThrottle, TestGateway,
        notifications::{PgCatalogChanges, PgOrderEvents, PgSagaWakeups},
        outbox::PgOutbox,
    },
    adapters::s3::S3Images,
    adapters::search::{OpenSearch, SearchModel, TantivySearch},
    adapters::stepfunctions::StepFunctions,
    app::config::{BusKind, SagaEngine, SearchEngine, ServeConfig},
    http::{ImageSource, Probe, metrics::Sampler},
    workers::reconciler::{DocumentSource, Reconciler},
    workers::{
        consumer::{Consumer, Fanout, Inbox, MessageHandler},
        image_events::ImageEvents,
        projector::{Projector, ReadModel},
        relay::{Outbox, Publisher},
        saga::{SagaExecutions, SagaStarter, SagaTasks},
    },
};

/// Advisory-lock key of the reconciler: "mercado reconcile".
const RECONCILE_LOCK: i64 = 0x6d65_7263_7265_636f;

/// Every port the server runs on, as a trait object, built once from configuration: the
/// resolvers' ports (handed to the schema as they are) and the workers' ports and loops.
pub struct Adapters {
    pub ports: Ports,
    pub stock: Arc<dyn StockHolds>,
    pub saga_store: Arc<dyn SagaStore>,
    pub payments: Arc<dyn PaymentGateway>,
    pub read_model: Arc<dyn ReadModel>,
    pub documents: Arc<dyn DocumentSource>,
    pub outbox: Arc<dyn Outbox>,
    pub publisher: Arc<dyn Publisher>,
    pub projector: Arc<Projector>,
    /// Present with bus `eventbridge` (SQS) or `nats` (JetStream).
    pub consumer: Option<Arc<Consumer>>,
    /// The search index this instance answers from (`ServeConfig::serves_search`).
    pub search: Option<Arc<dyn SearchModel>>,
    /// Feeds the search index every event (bus `eventbridge` or `nats`, on instances that
    /// run the workers; the in-process bus hands events to it directly).
    pub search_consumer: Option<Arc<Consumer>>,
    /// Present with MERCADO_IMAGE_QUEUE_URL: applies S3 upload notifications.
    pub image_consumer: Option<Arc<Consumer>>,
    pub image_events: Arc<ImageEvents>,
    pub saga: Arc<SagaRunner>,
    /// With `MERCADO_SAGA_ENGINE=stepfunctions`: answers the state machine's step tasks.
    pub saga_tasks: Option<Arc<Consumer>>,
    pub saga_wakeups: Arc<dyn SagaWakeups>,
    pub reconciler: Reconciler,
    pub verifier: Arc<TokenVerifier>,
    /// Product images for `/images/<key>`.
    pub image_source: Arc<dyn ImageSource>,
    /// What `/readyz` asks, by name.
    pub probes: Vec<(&'static str, Probe)>,
    /// Sets the stored-state gauges before each `/metrics` scrape.
    pub sampler: Sampler,
    /// Counters of concrete adapters, for tests and operators; the server itself runs on the
    /// ports above.
    pub observed: Observed,
    /// Closed when the server stops.
    pool: PgPool,
}

/// Concrete adapters whose counters tests and operators read.
pub struct Observed {
    pub catalog: DynamoCatalog,
    pub profiles: Arc<DynamoProfiles>,
    pub outbox: Arc<PgOutbox>,
}

impl Adapters {
    /// Connects to everything and applies pending migrations.
    pub async fn build(config: &ServeConfig) -> Result<Self, StartupError> {
        config.validate()?;
        let pool = postgres::connect(&config.database).await?;
        postgres::migrate(&pool).await?;
        let aws = crate::adapters::aws::load().await;
        let catalog_changes: Arc<dyn CatalogChanges> =
            Arc::new(PgCatalogChanges::start(pool.clone()));
        let catalog = DynamoCatalog::new(
            aws_sdk_dynamodb::Client::new(&aws),
            &config.aws.catalog_table,
        )
        .announcing(catalog_changes.clone());
        let projector = Arc::new(Projector::new("catalog", Arc::new(catalog.clone())));
        let handler: Arc<dyn MessageHandler> = projector.clone();
        // The search index: one more read model, fed every event by the worker instances.
        let search = search_index(config, &aws).await?;
        let indexer: Option<Arc<dyn MessageHandler>> = search
            .clone()
            .filter(|_| config.feeds_search())
            .map(|s| Arc::new(Projector::new("search", s)) as Arc<dyn MessageHandler>);
        type Inboxes = (Option<Arc<dyn Inbox>>, Option<Arc<dyn Inbox>>);
        let (publisher, (inbox, search_inbox)): (Arc<dyn Publisher>, Inboxes) = match config.bus {
            BusKind::Inprocess => {
                let handlers = [Some(handler.clone()), indexer.clone()];
                let fanout = Fanout(handlers.into_iter().flatten().collect());
                (
                    Arc::new(InProcessPublisher::new(Arc::new(fanout))),
                    (None, None),
                )
            }
            BusKind::Eventbridge => {
                let sqs = |url: String| -> Arc<dyn Inbox> {
                    Arc::new(SqsInbox::new(
                        crate::adapters::aws::long_poll_sqs(&aws, config.sqs_wait_seconds),
                        url,
                        config.sqs_wait_seconds,
                    ))
                };
                (
                    Arc::new(EventBridgePublisher::new(
                        crate::adapters::aws::publishing_eventbridge(&aws),
                        &config.aws.event_bus_name,
                    )),
                    (
                        Some(sqs(config.aws.queue_url.clone().unwrap_or_default())),
                        config
                            .search_queue_url
                            .clone()
                            .filter(|_| indexer.is_some())
                            .map(sqs),
                    ),
                )
            }
            BusKind::Nats => {
                let settings = config.nats_settings();
                let (client, js, stream) = nats::connect(&settings).await?;
                let search_inbox: Option<Arc<dyn Inbox>> = match &indexer {
                    Some(_) => Some(Arc::new(
                        nats::NatsInbox::new(&stream, &config.search_nats_settings()).await?,
                    )),
                    None => None,
                };
                (
                    Arc::new(nats::NatsPublisher::new(
                        client,
                        js,
                        &settings.subject_prefix,
                    )),
                    (
                        Some(Arc::new(nats::NatsInbox::new(&stream, &settings).await?)),
                        search_inbox,
                    ),
                )
            }
        };
        let consumer = inbox.map(|inbox| Arc::new(Consumer::new("projector", inbox, handler)));
        let search_consumer = search_inbox
            .zip(indexer)
            .map(|(inbox, indexer)| Arc::new(Consumer::new("search", inbox, indexer)));
        let outbox = Arc::new(PgOutbox::start(pool.clone()));
        let verifier = Arc::new(TokenVerifier::from_config(&config.auth, &aws).await?);
        let identity =
            crate::adapters::auth::identity_provider(&config.auth, &aws, &pool, &verifier);
        let inventory = Arc::new(PgInventory::new(
            pool.clone(),
            config.images.image_base_url.clone(),
        ));
        let images = Arc::new(S3Images::new(
            crate::adapters::s3::client(&aws),
            &config.images,
        ));
        let image_events = Arc::new(ImageEvents::new(inventory.clone()));
        let image_consumer = config.images.image_queue_url.as_ref().map(|url| {
            let inbox = SqsInbox::new(
                crate::adapters::aws::long_poll_sqs(&aws, config.sqs_wait_seconds),
                url,
                config.sqs_wait_seconds,
            );
            Arc::new(Consumer::new(
                "images",
                Arc::new(inbox),
                image_events.clone(),
            ))
        });
        let profiles = Arc::new(DynamoProfiles::new(
            aws_sdk_dynamodb::Client::new(&aws),
            &config.aws.profiles_table,
        ));
        let throttle = Arc::new(PgSignInThrottle::new(pool.clone()));
        let orders = Arc::new(
            crate::adapters::postgres::PgOrders::new(pool.clone(), config.hold_ttl_seconds)
                .sweeping_after(config.saga.sweep_after_seconds()),
        );
        let order_events = Arc::new(PgOrderEvents::start(pool.clone()));
        let saga_wakeups: Arc<dyn SagaWakeups> = Arc::new(PgSagaWakeups::start(pool.clone()));
        let saga = Arc::new(SagaRunner::new(
            orders.clone(),
            inventory.clone(),
            Arc::new(TestGateway::new(pool.clone())),
        ));
        // Step Functions as the saga's engine: the relay starts executions, and a consumer of
        // the step queue answers their tasks with the runner's own steps.
        let (publisher, saga_tasks) = match (
            config.saga.engine,
            &config.saga.state_machine_arn,
            &config.saga.queue_url,
        ) {
            (SagaEngine::Stepfunctions, Some(arn), Some(queue_url)) => {
                let executions: Arc<dyn SagaExecutions> =
                    Arc::new(StepFunctions::new(aws_sdk_sfn::Client::new(&aws), arn));
                let inbox = SqsInbox::new(
                    crate::adapters::aws::long_poll_sqs(&aws, config.sqs_wait_seconds),
                    queue_url,
                    config.sqs_wait_seconds,
                );
                (
                    Arc::new(SagaStarter::new(
                        publisher,
                        executions.clone(),
                        config.saga.task_timeout_seconds,
                    )) as Arc<dyn Publisher>,
                    Some(Arc::new(Consumer::new(
                        "saga",
                        Arc::new(inbox),
                        Arc::new(SagaTasks::new(saga.clone(), executions)),
                    ))),
                )
            }
            _ => (publisher, None),
        };
        let reconciler = Reconciler {
            lock: Arc::new(AdvisoryLock::new(pool.clone(), RECONCILE_LOCK)),
            source: inventory.clone(),
            model: Arc::new(catalog.clone()),
        };
        let payments: Arc<dyn PaymentGateway> = Arc::new(TestGateway::new(pool.clone()));
        let probes = probes(&pool, &catalog, &publisher, &consumer);
        let sampler = sampler(
            &pool,
            [&consumer, &search_consumer, &image_consumer, &saga_tasks]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        );
        Ok(Self {
            ports: Ports {
                inventory: inventory.clone(),
                catalog: Arc::new(catalog.clone()),
                catalog_changes,
                identity,
                throttle,
                profiles: profiles.clone(),
                images: images.clone(),
                orders: orders.clone(),
                order_events,
                search: match &search {
                    Some(index) => index.clone() as Arc<dyn SearchIndex>,
                    None if config.search == SearchEngine::Off => Arc::new(SearchOff(
                        "search is off on this server (MERCADO_SEARCH=off)",
                    )),
                    None => Arc::new(SearchOff(
                        "this instance applies no events (MERCADO_MODULES), so it keeps no search index: ask one that does",
                    )),
                },
            },
            stock: inventory.clone(),
            saga_store: orders,
            payments,
            read_model: Arc::new(catalog.clone()),
            documents: inventory,
            outbox: outbox.clone(),
            publisher,
            projector,
            consumer,
            search,
            search_consumer,
            image_consumer,
            saga_tasks,
            image_events,
            saga,
            saga_wakeups,
            reconciler,
            verifier,
            image_source: images,
            probes,
            sampler,
            observed: Observed {
                catalog,
                profiles,
                outbox,
            },
            pool,
        })
    }

    /// Releases the database connections (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The search index of `config`: this instance's Tantivy directory (on instances that run
/// the workers), the shared OpenSearch index (on every instance), or none.
async fn search_index(
    config: &ServeConfig,
    aws: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn SearchModel>>, StartupError> {
    if !config.serves_search() {
        return Ok(None);
    }
    Ok(Some(match config.search {
        SearchEngine::Opensearch => {
            let settings = &config.opensearch;
            let url = settings.opensearch_url.as_deref().unwrap_or_default();
            let index = OpenSearch::new(
                url,
                &settings.opensearch_index,
                settings.opensearch_auth,
                aws,
            )
            .map_err(|e| StartupError::Config(format!("MERCADO_OPENSEARCH_URL ({url}): {e}")))?;
            index.ensure_index().await.map_err(|e| {
                StartupError::Config(format!(
                    "MERCADO_OPENSEARCH_INDEX ({}): {e}",
                    settings.opensearch_index
                ))
            })?;
            Arc::new(index)
        }
        _ => Arc::new(TantivySearch::open(&config.search_dir).map_err(|e| {
            StartupError::Config(format!(
                "MERCADO_SEARCH_DIR ({}): {e}",
                config.search_dir.display()
            ))
        })?),
    }))
}

/// What a `/metrics` scrape samples first: PostgreSQL's outbox, orders and pool, and the
/// depth of each consumer's dead-letter queue (where its source has one).
fn sampler(pool: &PgPool, consumers: Vec<Arc<Consumer>>) -> Sampler {
    let pool = pool.clone();
    Arc::new(move || {
        let (pool, consumers) = (pool.clone(), consumers.clone());
        Box::pin(async move {
            let m = mercado_resolvers::telemetry::metrics();
            let mut failures = Vec::new();
            if let Err(e) = postgres::sample_metrics(&pool).await {
                failures.push(format!("postgres: {e}"));
            }
            for consumer in &consumers {
                match consumer.dead_letter_depth().await {
                    Ok(Some(n)) => m.set_dead_letters(consumer.name(), n as i64),
                    Ok(None) => {}
                    Err(e) => failures.push(format!("{} dead letters: {e}", consumer.name())),
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(failures.join("; "))
            }
        })
    })
}

/// What `/readyz` asks: PostgreSQL, the read model, and the bus (publisher and consumer).
fn probes(
    pool: &PgPool,
    catalog: &DynamoCatalog,
    publisher: &Arc<dyn Publisher>,
    consumer: &Option<Arc<Consumer>>,
) -> Vec<(&'static str, Probe)> {
    let pool = pool.clone();
    let catalog = catalog.clone();
    let (publisher, consumer) = (publisher.clone(), consumer.clone());
    vec![
        (
            "postgres",
            Arc::new(move || Box::pin(postgres::ping(pool.clone()))),
        ),
        (
            "dynamodb",
            Arc::new(move || {
                let catalog = catalog.clone();
                Box::pin(async move { catalog.ping().await })
            }),
        ),
        (
            "bus",
            Arc::new(move || {
                let (publisher, consumer) = (publisher.clone(), consumer.clone());
                Box::pin(async move {
                    publisher.ping().await.map_err(|e| e.to_string())?;
                    match consumer {
                        Some(consumer) => consumer.ping().await.map_err(|e| e.to_string()),
                        None => Ok(()),
                    }
                })
            }),
        ),
    ]
}
