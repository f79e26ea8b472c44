//! Wiring: builds every adapter and worker from one configuration. The server and the tests
//! use the same constructors, so tests drive exactly what production runs.

use std::sync::Arc;

use mercado_resolvers::{
    MercadoSchema, Ports,
    catalog::CatalogChanges,
    edge::EdgeGuard,
    purchases::{SagaWakeups, saga::SagaRunner},
};
use sqlx::PgPool;

use crate::{
    StartupError,
    adapters::auth::TokenVerifier,
    adapters::bus::{EventBridgePublisher, InProcessPublisher, SqsInbox, nats},
    adapters::dynamo::{DynamoCatalog, DynamoProfiles},
    adapters::postgres::{
        self, AdvisoryLock, PgInventory, PgSignInThrottle,
        notifications::{PgCatalogChanges, PgOrderEvents, PgSagaWakeups},
        outbox::PgOutbox,
    },
    adapters::s3::S3Images,
    app::config::{BusKind, ServeConfig},
    workers::reconciler::Reconciler,
    workers::{
        consumer::{Consumer, Inbox, MessageHandler},
        image_events::ImageEvents,
        projector::Projector,
        relay::Publisher,
    },
};

/// Advisory-lock key of the reconciler: "mercado reconcile".
const RECONCILE_LOCK: i64 = 0x6d65_7263_7265_636f;

pub struct Components {
    pub pool: PgPool,
    pub catalog: DynamoCatalog,
    pub projector: Arc<Projector>,
    pub publisher: Arc<dyn Publisher>,
    pub outbox: Arc<PgOutbox>,
    /// Present with bus `eventbridge` (SQS) or `nats` (JetStream).
    pub consumer: Option<Arc<Consumer>>,
    pub verifier: Arc<TokenVerifier>,
    pub inventory: Arc<PgInventory>,
    pub profiles: Arc<DynamoProfiles>,
    pub identity: Arc<dyn mercado_resolvers::auth::IdentityProvider>,
    pub throttle: Arc<PgSignInThrottle>,
    pub images: Arc<S3Images>,
    /// Present with MERCADO_IMAGE_QUEUE_URL: applies S3 upload notifications.
    pub image_consumer: Option<Arc<Consumer>>,
    pub image_events: Arc<ImageEvents>,
    pub orders: Arc<crate::adapters::postgres::PgOrders>,
    pub order_events: Arc<PgOrderEvents>,
    pub catalog_changes: Arc<dyn CatalogChanges>,
    pub saga: Arc<SagaRunner>,
    pub reconciler: Reconciler,
    pub saga_wakeups: Arc<dyn SagaWakeups>,
}

impl Components {
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
        let projector = Arc::new(Projector::new(Arc::new(catalog.clone())));
        let handler: Arc<dyn MessageHandler> = projector.clone();
        let (publisher, inbox): (Arc<dyn Publisher>, Option<Arc<dyn Inbox>>) = match config.bus {
            BusKind::Inprocess => (Arc::new(InProcessPublisher::new(handler.clone())), None),
            BusKind::Eventbridge => (
                Arc::new(EventBridgePublisher::new(
                    aws_sdk_eventbridge::Client::new(&aws),
                    &config.aws.event_bus_name,
                )),
                Some(Arc::new(SqsInbox::new(
                    aws_sdk_sqs::Client::new(&aws),
                    config.aws.queue_url.clone().unwrap_or_default(),
                    config.sqs_wait_seconds,
                ))),
            ),
            BusKind::Nats => {
                let settings = config.nats_settings();
                let (client, js, stream) = nats::connect(&settings).await?;
                (
                    Arc::new(nats::NatsPublisher::new(
                        client,
                        js,
                        &settings.subject_prefix,
                    )),
                    Some(Arc::new(nats::NatsInbox::new(&stream, &settings).await?)),
                )
            }
        };
        let consumer = inbox.map(|inbox| Arc::new(Consumer::new(inbox, handler)));
        let outbox = Arc::new(PgOutbox::start(pool.clone()));
        let verifier = Arc::new(TokenVerifier::from_config(&config.auth, &aws).await?);
        let identity =
            crate::adapters::auth::identity_provider(&config.auth, &aws, &pool, &verifier);
        let inventory = Arc::new(PgInventory::new(pool.clone(), config.images.base_url(&aws)));
        let images = Arc::new(S3Images::new(
            crate::adapters::s3::client(&aws),
            &config.images,
        ));
        let image_events = Arc::new(ImageEvents::new(inventory.clone()));
        let image_consumer = config.images.image_queue_url.as_ref().map(|url| {
            let inbox = SqsInbox::new(aws_sdk_sqs::Client::new(&aws), url, config.sqs_wait_seconds);
            Arc::new(Consumer::new(Arc::new(inbox), image_events.clone()))
        });
        let profiles = Arc::new(DynamoProfiles::new(
            aws_sdk_dynamodb::Client::new(&aws),
            &config.aws.profiles_table,
        ));
        let throttle = Arc::new(PgSignInThrottle::new(pool.clone()));
        let orders = Arc::new(crate::adapters::postgres::PgOrders::new(
            pool.clone(),
            config.hold_ttl_seconds,
        ));
        let order_events = Arc::new(PgOrderEvents::start(pool.clone()));
        let saga_wakeups: Arc<dyn SagaWakeups> = Arc::new(PgSagaWakeups::start(pool.clone()));
        let saga = Arc::new(SagaRunner::new(
            orders.clone(),
            inventory.clone(),
            Arc::new(crate::adapters::postgres::TestGateway::new(pool.clone())),
        ));
        let reconciler = Reconciler {
            lock: Arc::new(AdvisoryLock::new(pool.clone(), RECONCILE_LOCK)),
            source: inventory.clone(),
            model: Arc::new(catalog.clone()),
        };
        Ok(Self {
            pool,
            catalog,
            projector,
            publisher,
            outbox,
            consumer,
            verifier,
            inventory,
            profiles,
            identity,
            throttle,
            images,
            image_consumer,
            image_events,
            orders,
            order_events,
            catalog_changes,
            saga,
            saga_wakeups,
            reconciler,
        })
    }

    /// The executable schema over these adapters, guarded by `edge`; catalog reads wait at
    /// most `read_wait` for consistency tokens.
    pub fn schema(&self, edge: EdgeGuard, read_wait: std::time::Duration) -> MercadoSchema {
        mercado_resolvers::build_schema(
            Ports {
                inventory: self.inventory.clone(),
                catalog: Arc::new(self.catalog.clone()),
                catalog_changes: self.catalog_changes.clone(),
                identity: self.identity.clone(),
                throttle: self.throttle.clone(),
                profiles: self.profiles.clone(),
                images: self.images.clone(),
                orders: self.orders.clone(),
                order_events: self.order_events.clone(),
            },
            edge,
            read_wait,
        )
    }
}
