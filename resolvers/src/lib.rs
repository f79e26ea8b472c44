//! mercado's GraphQL layer: the roots of each bounded context, the ports (traits) they call, the
//! domain types and rules, guards and error codes. It knows nothing of sqlx, AWS or axum: the
//! server crate implements the ports and hands them to [`build_schema`].

pub mod address;
pub mod auth;
pub mod catalog;
pub mod checks;
pub mod edge;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod guard;
pub mod inventory;
pub mod money;
pub mod page;
pub mod profiles;
pub mod purchases;
pub mod search;
pub mod system;
pub mod telemetry;
#[cfg(test)]
mod tests;
pub mod viewer;

use std::sync::Arc;

use async_graphql::{
    MergedObject, MergedSubscription, SDLExportOptions, Schema, dataloader::DataLoader,
};

pub use error::{ApiError, Rejected, StoreError};
pub use viewer::{Role, Viewer};

/// The root of every read: queries go to the read model (catalog on DynamoDB).
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    catalog::CatalogQuery,
    search::SearchQuery,
    profiles::ProfilesQuery,
    auth::AuthQuery,
    purchases::PurchasesQuery,
);

/// The root of every write: mutations go to the source of truth (PostgreSQL).
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    inventory::InventoryMutation,
    auth::AuthMutation,
    profiles::ProfilesMutation,
    purchases::PurchasesMutation,
);

/// Live streams over graphql-transport-ws (or the legacy graphql-ws protocol).
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct Subscription(
    system::SystemSubscription,
    purchases::PurchasesSubscription,
    catalog::CatalogSubscription,
);

/// The executable schema type the server serves.
pub type MercadoSchema = Schema<Query, Mutation, Subscription>;

/// Everything the resolvers call: one implementation per port, supplied by the server.
#[derive(Clone)]
pub struct Ports {
    pub inventory: Arc<dyn inventory::InventoryStore>,
    pub catalog: Arc<dyn catalog::CatalogReader>,
    pub catalog_changes: Arc<dyn catalog::CatalogChanges>,
    pub identity: Arc<dyn auth::IdentityProvider>,
    pub throttle: Arc<dyn auth::SignInThrottle>,
    pub profiles: Arc<dyn profiles::ProfileStore>,
    pub images: Arc<dyn inventory::ImageStorage>,
    pub orders: Arc<dyn purchases::OrderStore>,
    pub order_events: Arc<dyn purchases::OrderEvents>,
    pub search: Arc<dyn search::SearchIndex>,
}

/// Builds the schema the server executes, with the ports in its context data and the edge
/// guarding every document (depth, complexity and the other limits are enforced there, where
/// fragments are measured once instead of once per spread).
/// `read_wait` bounds how long a catalog read waits for the versions its consistency tokens
/// name.
pub fn build_schema(
    ports: Ports,
    edge: edge::EdgeGuard,
    read_wait: std::time::Duration,
) -> MercadoSchema {
    let feed = catalog::CatalogFeed::start(
        ports.catalog.clone(),
        ports.catalog_changes.clone(),
        read_wait,
    );
    let orders = purchases::OrderFeed::start(ports.orders.clone(), ports.order_events.as_ref());
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    );
    if !edge.limits().introspection {
        builder = builder.disable_introspection();
    }
    builder
        .extension(edge)
        .extension(telemetry::GraphqlTelemetry)
        .data(ports.inventory)
        .data(ports.catalog)
        .data(feed)
        .data(orders)
        .data(DataLoader::new(
            profiles::SellerLoader::new(ports.profiles.clone()),
            tokio::spawn,
        ))
        .data(ports.identity)
        .data(ports.throttle)
        .data(ports.profiles)
        .data(ports.images)
        .data(ports.orders)
        .data(ports.order_events)
        .data(ports.search)
        .finish()
}

/// The schema's SDL, as committed in `schema/mercado.graphql`.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl_with_options(SDLExportOptions::new().include_specified_by())
}
