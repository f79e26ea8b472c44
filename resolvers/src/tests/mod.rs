//! Behaviour of every context through the GraphQL surface, over the in-memory fakes: the
//! rules and refusals a client sees, in milliseconds and with no services.
//!
//! [`Harness`] builds the real schema ([`crate::build_schema`], edge guard included) over the
//! fakes and keeps a handle on each fake, to seed data and to look behind the API. Requests
//! carry the data the server attaches (`Caller::attach` in `src/http/graphql.rs`): the client
//! address, `Option<Viewer>` and, when signed in, the bearer token. Assertions are on what a
//! client reads: `data`, and `errors[i].extensions.{code, field}`.

#![allow(clippy::unwrap_used)]

mod auth;
mod catalog;
mod edge;
mod inventory;
mod profiles;
mod purchases;
mod search;
mod system;

use std::{net::IpAddr, sync::Arc, time::Duration};

use async_graphql::{Request, Variables};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, stream::BoxStream};
use serde_json::Value;

use crate::{
    MercadoSchema, Ports, Role, Viewer,
    auth::ClientAddr,
    edge::{EdgeGuard, EdgeLimits},
    fakes::{
        FakeCatalog, FakeIdentity, FakeImages, FakeInventory, FakeOrders, FakeProfiles, FakeSearch,
        FakeThrottle,
    },
    viewer::BearerToken,
};

/// How long a catalog read waits for its consistency tokens in these tests.
pub const READ_WAIT: Duration = Duration::from_millis(200);
/// Longest a test waits for a stream's next item before calling it stuck.
const STREAM_PATIENCE: Duration = Duration::from_secs(2);
/// The client address of requests that do not name one.
const DEFAULT_ADDR: &str = "192.0.2.1";

/// What to build a [`Harness`] with, when the defaults do not fit.
pub struct Setup {
    pub edge: EdgeGuard,
    pub identity: FakeIdentity,
    pub read_wait: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            edge: EdgeGuard::new(EdgeLimits::default(), None),
            identity: FakeIdentity::default(),
            read_wait: READ_WAIT,
        }
    }
}

impl Setup {
    /// The default setup with these edge limits.
    pub fn limits(limits: EdgeLimits) -> Self {
        Self {
            edge: EdgeGuard::new(limits, None),
            ..Self::default()
        }
    }

    pub fn start(self) -> Harness {
        let catalog = Arc::new(FakeCatalog::default());
        let profiles = Arc::new(FakeProfiles::default());
        let identity = Arc::new(self.identity);
        let throttle = Arc::new(FakeThrottle::default());
        let images = Arc::new(FakeImages::default());
        let orders = Arc::new(FakeOrders::default());
        let inventory = Arc::new(FakeInventory::default());
        let search = Arc::new(FakeSearch::default());
        let ports = Ports {
            inventory: inventory.clone(),
            catalog: catalog.clone(),
            catalog_changes: catalog.clone(),
            identity: identity.clone(),
            throttle: throttle.clone(),
            profiles: profiles.clone(),
            images: images.clone(),
            orders: orders.clone(),
            order_events: orders.clone(),
            search: search.clone(),
        };
        Harness {
            schema: crate::build_schema(ports, self.edge, self.read_wait),
            catalog,
            profiles,
            identity,
            throttle,
            orders,
            inventory,
            images,
            search,
        }
    }
}

/// The schema over fakes, and the fakes.
pub struct Harness {
    pub schema: MercadoSchema,
    pub catalog: Arc<FakeCatalog>,
    pub profiles: Arc<FakeProfiles>,
    pub identity: Arc<FakeIdentity>,
    pub throttle: Arc<FakeThrottle>,
    pub orders: Arc<FakeOrders>,
    pub inventory: Arc<FakeInventory>,
    pub images: Arc<FakeImages>,
    pub search: Arc<FakeSearch>,
}

impl Harness {
    /// Everything by default (must run inside a Tokio runtime: the catalog feed is a task).
    pub fn new() -> Self {
        Setup::default().start()
    }

    /// A request for `query`, anonymous and from [`DEFAULT_ADDR`] until told otherwise.
    pub fn gql(&self, query: &str) -> Ask<'_> {
        Ask {
            harness: self,
            request: Request::new(query),
            viewer: None,
            token: None,
            addr: DEFAULT_ADDR.parse().unwrap(),
        }
    }
}

/// A request being prepared.
pub struct Ask<'h> {
    harness: &'h Harness,
    request: Request,
    viewer: Option<Viewer>,
    token: Option<String>,
    addr: IpAddr,
}

impl Ask<'_> {
    /// Signed in as `viewer` (with a bearer token naming it, unless [`Ask::token`] says).
    pub fn by(mut self, viewer: &Viewer) -> Self {
        self.viewer = Some(viewer.clone());
        self
    }

    /// The raw bearer token the request carries.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn vars(mut self, variables: Value) -> Self {
        self.request = self.request.variables(Variables::from_json(variables));
        self
    }

    /// Runs the operation of this name (in a document of several).
    pub fn operation(mut self, name: &str) -> Self {
        self.request = self.request.operation_name(name);
        self
    }

    /// From this client address.
    pub fn from(mut self, addr: &str) -> Self {
        self.addr = addr.parse().unwrap();
        self
    }

    /// A request extension (`persistedQuery`, `documentId`).
    pub fn extension(mut self, name: &str, value: Value) -> Self {
        self.request.extensions.0.insert(
            name.to_string(),
            async_graphql::Value::from_json(value).unwrap(),
        );
        self
    }

    /// Extra request data (e.g. the edge's `ReadOnly` marker of GET requests).
    pub fn data<D: std::any::Any + Send + Sync>(mut self, data: D) -> Self {
        self.request = self.request.data(data);
        self
    }

    /// The request with the data `Caller::attach` gives it in the server.
    fn attach(self) -> (Request, MercadoSchema) {
        let mut request = self.request.data(ClientAddr(self.addr));
        match self.viewer {
            Some(viewer) => {
                let token = self
                    .token
                    .unwrap_or_else(|| format!("token-of-{}", viewer.subject));
                request = request.data(Some(viewer)).data(BearerToken(token));
            }
            None => request = request.data(None::<Viewer>),
        }
        (request, self.harness.schema.clone())
    }

    pub async fn send(self) -> Answer {
        let (request, schema) = self.attach();
        Answer::from(schema.execute(request).await)
    }

    /// A subscription: each response as an [`Answer`].
    pub fn stream(self) -> Answers {
        let (request, schema) = self.attach();
        Answers(schema.execute_stream(request).map(Answer::from).boxed())
    }
}

/// What a client reads back: `data` and `errors`, as JSON.
#[derive(Debug, Clone)]
pub struct Answer {
    pub data: Value,
    pub errors: Vec<Value>,
}

impl From<async_graphql::Response> for Answer {
    fn from(response: async_graphql::Response) -> Self {
        Self {
            data: response.data.into_json().unwrap(),
            errors: response
                .errors
                .iter()
                .map(|e| serde_json::to_value(e).unwrap())
                .collect(),
        }
    }
}

impl Answer {
    /// The data of an answer that must have no error.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(
            self.errors.is_empty(),
            "unexpected errors: {:#?}",
            self.errors
        );
        &self.data
    }

    /// The first error.
    #[track_caller]
    pub fn error(&self) -> &Value {
        self.errors
            .first()
            .unwrap_or_else(|| panic!("expected an error, got data {}", self.data))
    }

    /// `extensions.code` of the first error.
    #[track_caller]
    pub fn code(&self) -> &str {
        self.error()["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("error without a code: {}", self.error()))
    }

    /// Asserts one error, with `code` and (for input errors) `field`.
    #[track_caller]
    pub fn refused(&self, code: &str, field: Option<&str>) {
        assert_eq!(self.errors.len(), 1, "errors: {:#?}", self.errors);
        assert_eq!(self.code(), code, "error: {}", self.error());
        assert_eq!(
            self.error()["extensions"]["field"].as_str(),
            field,
            "error: {}",
            self.error()
        );
    }

    /// The `field` of every violation of a `BAD_USER_INPUT` answer, in order.
    #[track_caller]
    pub fn violations(&self) -> Vec<String> {
        self.error()["extensions"]["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("no violations in {}", self.error()))
            .iter()
            .map(|v| v["field"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The answers of a subscription.
pub struct Answers(BoxStream<'static, Answer>);

impl Answers {
    /// The next answer; fails the test if none comes within [`STREAM_PATIENCE`].
    #[track_caller]
    pub fn next(&mut self) -> impl Future<Output = Answer> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            match tokio::time::timeout(STREAM_PATIENCE, self.0.next()).await {
                Ok(Some(answer)) => answer,
                Ok(None) => panic!("{caller}: the stream ended"),
                Err(_) => panic!("{caller}: nothing within {STREAM_PATIENCE:?}"),
            }
        }
    }

    /// Asserts the stream completes (within [`STREAM_PATIENCE`]) without another answer.
    #[track_caller]
    pub fn ends(&mut self) -> impl Future<Output = ()> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            match tokio::time::timeout(STREAM_PATIENCE, self.0.next()).await {
                Ok(None) => {}
                Ok(Some(answer)) => panic!("{caller}: expected the end, got {answer:?}"),
                Err(_) => panic!("{caller}: the stream did not end"),
            }
        }
    }

    /// Asserts nothing arrives for `wait` (the stream stays open and quiet).
    #[track_caller]
    pub fn quiet_for(&mut self, wait: Duration) -> impl Future<Output = ()> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            if let Ok(item) = tokio::time::timeout(wait, self.0.next()).await {
                panic!("{caller}: expected silence, got {item:?}");
            }
        }
    }
}

impl Stream for Answers {
    type Item = Answer;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Answer>> {
        self.0.poll_next_unpin(cx)
    }
}

/// A signed-in caller with these roles (subject = `name`, email `name@example.com`).
pub fn user(name: &str, roles: &[Role]) -> Viewer {
    Viewer {
        subject: name.to_string(),
        roles: roles.to_vec(),
        email: Some(format!("{name}@example.com")),
    }
}

pub fn buyer(name: &str) -> Viewer {
    user(name, &[Role::Buyer])
}

pub fn seller(name: &str) -> Viewer {
    user(name, &[Role::Seller])
}

/// `2026-01-01T00:00:00Z` plus `seconds`: fixed creation times make listing orders certain.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap()
}

/// The string at `pointer` (a JSON pointer) in `value`.
#[track_caller]
pub fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
}

/// The strings at `field` of every element of the array at `pointer`.
#[track_caller]
pub fn texts(value: &Value, pointer: &str, field: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no array at {pointer} in {value}"))
        .iter()
        .map(|item| {
            item.pointer(field)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no string at {field} in {item}"))
                .to_string()
        })
        .collect()
}
