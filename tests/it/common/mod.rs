//! Test harness: each test gets its own PostgreSQL database, DynamoDB table and (for bus
//! `eventbridge`) its own EventBridge bus and SQS queue on the local AWS-API server, and a real
//! server on an ephemeral port. Tests run in parallel without seeing each other.
//!
//! Needs `MERCADO_TEST_DATABASE_URL` (an admin URL; default the local PostgreSQL) and
//! `AWS_ENDPOINT_URL` pointing at a local AWS-API server: `scripts/test` sets both.

#![allow(dead_code, clippy::unwrap_used)]

use std::{path::PathBuf, time::Duration};

use mercado::{
    adapters::auth::LocalIssuer,
    app::config::{
        AuthConfig, AuthMode, AwsConfig, BusKind, DatabaseConfig, EdgeConfig, ImagesConfig, Module,
        OpenSearchConfig, SearchEngine, ServeConfig,
    },
    app::server::Server,
};
use mercado_resolvers::Role;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Where test orders ship.
pub fn shipping_address() -> Value {
    json!({"name": "Ana Buyer", "line1": "Calle Mayor 1", "city": "Madrid", "postalCode": "28013", "country": "ES"})
}

pub struct Stack {
    pub id: String,
    pub admin_url: String,
    pub database: String,
    pub database_url: String,
    pub config: ServeConfig,
    pub data_dir: PathBuf,
}

fn admin_url() -> String {
    std::env::var("MERCADO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(admin: &str, database: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{database}")
}

impl Stack {
    /// A fresh database, table and (for `eventbridge`) bus + queue, provisioned and migrated.
    pub async fn new(bus: BusKind) -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(
            "AWS_ENDPOINT_URL must point at a local AWS-API server (scripts/test starts one)",
        );
        // SAFETY of intent: never let a test reach real AWS with real credentials.
        assert!(
            endpoint.contains("127.0.0.1") || endpoint.contains("localhost"),
            "tests only run against a local AWS-API server, not {endpoint}"
        );
        let id = Uuid::new_v4().simple().to_string()[..12].to_string();
        let admin_url = admin_url();
        let database = format!("mercado_test_{id}");
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let database_url = with_database(&admin_url, &database);
        let queue_url = format!(
            "{}/123456789012/mercado-test-{id}",
            endpoint.trim_end_matches('/')
        );
        let data_dir = std::env::temp_dir().join(format!("mercado-test-{id}"));
        let config = ServeConfig {
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            metrics_addr: None,
            web_root: concat!(env!("CARGO_MANIFEST_DIR"), "/web-client/app/dist").into(),
            bus,
            search: SearchEngine::Tantivy,
            // Each start gets a directory of its own (one writer per index).
            search_dir: data_dir.join("search"),
            search_commit_ms: 50,
            search_queue_url: Some(format!("{queue_url}-search")),
            opensearch: OpenSearchConfig::default(),
            instance_id: format!("test-{id}"),
            modules: Module::ALL.to_vec(),
            relay_poll_ms: 200,
            relay_batch: 100,
            sqs_wait_seconds: 1,
            rest_require_token: false,
            shutdown_grace_seconds: 5,
            read_wait_ms: 2_000,
            // Tests drive many requests from one address: no rate limits unless a test asks.
            edge: EdgeConfig {
                rate_per_address: 0,
                rate_per_user: 0,
                ws_max_connections_per_address: 0,
                ..EdgeConfig::default()
            },
            reconcile_interval_seconds: 86_400,
            hold_ttl_seconds: 900,
            saga: Default::default(),
            nats_url: std::env::var("MERCADO_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
            nats_stream: format!("MERCADO_TEST_{id}"),
            nats_subject_prefix: format!("mercado-test-{id}"),
            nats_consumer: format!("projector-{id}"),
            database: DatabaseConfig {
                database_url: database_url.clone(),
                db_max_connections: 8,
            },
            aws: AwsConfig {
                catalog_table: format!("mercado-test-{id}"),
                profiles_table: format!("mercado-test-profiles-{id}"),
                max_receives: 3,
                event_bus_name: format!("mercado-test-{id}"),
                queue_url: Some(queue_url),
            },
            auth: AuthConfig {
                auth: AuthMode::Local,
                jwt_issuer: "mercado-local".into(),
                jwt_audience: "mercado".into(),
                jwt_roles_claim: "roles".into(),
                jwks_url: None,
                jwks_file: None,
                cognito_user_pool_id: None,
                cognito_client_id: None,
                access_token_ttl_seconds: 900,
                data_dir: data_dir.clone(),
            },
            images: ImagesConfig {
                images_bucket: format!("mercado-test-{id}"),
                image_queue_url: Some(format!(
                    "{}/123456789012/mercado-test-images-{id}",
                    endpoint.trim_end_matches('/')
                )),
                image_max_bytes: 5 * 1024 * 1024,
                image_url_ttl_seconds: 900,
                image_base_url: "/images".into(),
                image_upload_origins: vec!["*".into()],
            },
        };
        let stack = Self {
            id,
            admin_url,
            database,
            database_url,
            config,
            data_dir,
        };
        stack.provision().await;
        stack
    }

    async fn provision(&self) {
        let sdk = mercado::adapters::aws::load().await;
        mercado::adapters::provision::provision_catalog_table(
            &aws_sdk_dynamodb::Client::new(&sdk),
            &self.config.aws.catalog_table,
        )
        .await
        .unwrap();
        mercado::adapters::provision::provision_profiles_table(
            &aws_sdk_dynamodb::Client::new(&sdk),
            &self.config.aws.profiles_table,
        )
        .await
        .unwrap();
        mercado::adapters::provision::provision_images(
            &mercado::adapters::s3::client(&sdk),
            &aws_sdk_sqs::Client::new(&sdk),
            &self.config.images.images_bucket,
            &self.config.images.image_upload_origins,
            self.config.images.image_queue_url.as_deref().unwrap(),
        )
        .await
        .unwrap();
        if self.config.bus == BusKind::Eventbridge {
            for queue in [&self.config.aws.queue_url, &self.config.search_queue_url] {
                mercado::adapters::provision::provision_event_route(
                    &aws_sdk_eventbridge::Client::new(&sdk),
                    &aws_sdk_sqs::Client::new(&sdk),
                    &self.config.aws.event_bus_name,
                    queue.as_deref().unwrap(),
                    self.config.aws.max_receives,
                )
                .await
                .unwrap();
            }
        }
    }

    /// Switches this stack's saga to Step Functions: a state machine and step queue of its own
    /// on the local AWS-API server, short task timeouts, and a sweeper that waits `sweep_seconds`.
    pub async fn use_stepfunctions(&mut self, sweep_seconds: i64) {
        let sdk = mercado::adapters::aws::load().await;
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
        let queue_url = format!(
            "{}/123456789012/mercado-test-saga-{}",
            endpoint.trim_end_matches('/'),
            self.id
        );
        let arn = mercado::adapters::provision::provision_saga(
            &aws_sdk_sfn::Client::new(&sdk),
            &aws_sdk_sqs::Client::new(&sdk),
            &format!("mercado-test-{}", self.id),
            &queue_url,
            self.config.aws.max_receives,
        )
        .await
        .unwrap();
        self.config.saga = mercado::app::config::SagaConfig {
            engine: mercado::app::config::SagaEngine::Stepfunctions,
            state_machine_arn: Some(arn),
            queue_url: Some(queue_url),
            task_timeout_seconds: 5,
            sweep_seconds,
        };
    }

    /// Switches this stack to a Cognito user pool of its own on the local AWS-API server.
    pub async fn use_cognito(&mut self) {
        let sdk = mercado::adapters::aws::load().await;
        let (pool, client) = mercado::adapters::provision::provision_cognito(
            &aws_sdk_cognitoidentityprovider::Client::new(&sdk),
            &format!("mercado-test-{}", self.id),
        )
        .await
        .unwrap();
        // No MERCADO_JWKS_URL: the server finds the pool's keys on the local endpoint.
        let auth = &mut self.config.auth;
        auth.auth = AuthMode::Cognito;
        auth.cognito_user_pool_id = Some(pool);
        auth.cognito_client_id = Some(client);
    }

    /// The stack's configuration with no background workers (the API alone): the test
    /// drives each step.
    pub fn quiet(&self) -> ServeConfig {
        ServeConfig {
            modules: vec![Module::Api],
            ..self.config.clone()
        }
    }

    pub async fn start(&self) -> App {
        self.start_with(self.config.clone()).await
    }

    pub async fn start_with(&self, mut config: ServeConfig) -> App {
        config.search_dir = self.data_dir.join(format!("search-{}", Uuid::new_v4()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::start(config, Some(listener)).await.unwrap();
        let base = format!("http://{}", server.addr());
        App {
            base,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// The issuer the server trusts (the same key file).
    pub fn issuer(&self) -> LocalIssuer {
        LocalIssuer::load_or_create(&self.data_dir, "mercado-local", "mercado", "roles").unwrap()
    }

    pub fn token(&self, sub: &str, roles: &[Role]) -> String {
        self.issuer().issue(sub, roles, 600).unwrap()
    }

    pub async fn pg(&self) -> PgConnection {
        PgConnection::connect(&self.database_url).await.unwrap()
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        self.count_dynamic(sql).await
    }

    /// [`Stack::count`] for a statement built at run time (by the test itself).
    pub async fn count_dynamic(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut self.pg().await)
            .await
            .unwrap()
    }

    /// Drops the database and the local key dir (the AWS server is per test run).
    pub async fn cleanup(self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.unwrap();
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        )))
        .execute(&mut admin)
        .await;
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub struct App {
    pub base: String,
    pub http: reqwest::Client,
    pub server: Server,
}

impl App {
    /// POSTs a GraphQL request; returns (HTTP status, body).
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// `product(id)` from the catalog, polled until `ready` accepts it or 10 s pass.
    pub async fn wait_for_product(&self, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, body) = self
                .graphql(
                    None,
                    "query($id: ID!) { product(id: $id) { id name category sellerId version info imageUrl status } }",
                    json!({"id": id}),
                )
                .await;
            let product = body["data"]["product"].clone();
            if ready(&product) {
                return product;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "product {id} never became ready in the catalog; last answer {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Creates a product as `token`'s seller; returns its id.
    pub async fn create_product(&self, token: &str, name: &str, category: &str) -> String {
        let (_, created) = self
            .graphql(
                Some(token),
                CREATE_PRODUCT,
                json!({"input": {"name": name, "category": category}}),
            )
            .await;
        created["data"]["createProduct"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createProduct failed: {created}"))
            .to_string()
    }

    /// A product of `token`'s seller with one variant `sku` of `on_hand` units at `cents` EUR;
    /// returns the variant id.
    pub async fn stocked_variant(
        &self,
        token: &str,
        sku: &str,
        cents: i64,
        on_hand: i32,
    ) -> String {
        let (_, created) = self
            .graphql(
                Some(token),
                "mutation($i: CreateProductInput!) { createProduct(input: $i) { variants { id } } }",
                json!({"i": {"name": sku, "category": "stocked",
                             "variants": [{"sku": sku, "price": {"amount": cents, "currency": "EUR"}, "onHand": on_hand}]}}),
            )
            .await;
        created["data"]["createProduct"]["variants"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createProduct failed: {created}"))
            .to_string()
    }

    /// `placeOrder` for `quantity` of `variant`, paid with `payment`, shipped to
    /// [`shipping_address`]; returns the answer.
    pub async fn place_order(
        &self,
        token: &str,
        variant: &str,
        quantity: i32,
        payment: &str,
        idempotency_key: &str,
    ) -> Value {
        self.graphql(
            Some(token),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status total { amount currency } lines { sku quantity } } }",
            json!({"i": {"items": [{"variantId": variant, "quantity": quantity}], "paymentToken": payment, "idempotencyKey": idempotency_key, "shippingAddress": shipping_address()}}),
        )
        .await
        .1
    }

    /// Asks for an upload URL for `product`'s image and PUTs `bytes` there as a browser would
    /// (with curl); returns `requestProductImageUpload`'s answer.
    pub async fn upload_image(&self, token: &str, product: &str, bytes: &[u8]) -> Value {
        use tokio::io::AsyncWriteExt;
        let (_, upload) = self
            .graphql(
                Some(token),
                "mutation($id: ID!, $t: String!, $n: Int!) { requestProductImageUpload(productId: $id, contentType: $t, contentLength: $n) { url method headers { name value } key expiresAt } }",
                json!({"id": product, "t": "image/png", "n": bytes.len()}),
            )
            .await;
        let upload = upload["data"]["requestProductImageUpload"].clone();
        let mut curl = tokio::process::Command::new("curl");
        curl.args(["-sS", "-f", "-X", "PUT", "--data-binary", "@-"]);
        for h in upload["headers"]
            .as_array()
            .unwrap_or_else(|| panic!("no upload: {upload}"))
        {
            let name = h["name"].as_str().unwrap();
            if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("host") {
                curl.args(["-H", &format!("{name}: {}", h["value"].as_str().unwrap())]);
            }
        }
        curl.arg(upload["url"].as_str().unwrap());
        curl.stdin(std::process::Stdio::piped());
        let mut child = curl.spawn().unwrap();
        child.stdin.take().unwrap().write_all(bytes).await.unwrap();
        assert!(child.wait().await.unwrap().success(), "curl PUT failed");
        upload
    }

    /// `deleteProduct` of `id` as `token`'s seller; the whole answer.
    pub async fn delete_product(&self, token: &str, id: &str) -> Value {
        self.graphql(
            Some(token),
            "mutation($id: ID!) { deleteProduct(id: $id) { id version } }",
            json!({"id": id}),
        )
        .await
        .1
    }

    /// `GET path` on this server.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// The `extensions.code` of the first error.
/// The id of what the mutation `field` returned in `body`; fails the test, showing the answer,
/// when there is none.
#[track_caller]
pub fn id_of(body: &Value, field: &str) -> String {
    body["data"][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} returned no id: {body}"))
        .to_string()
}

/// Messages waiting in an SQS queue (approximately, as SQS counts).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    attrs
        .attributes()
        .and_then(|a| a.get(&ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

/// The `field` of every violation listed by the first error.
pub fn violation_fields(body: &Value) -> Vec<&str> {
    body["errors"][0]["extensions"]["violations"]
        .as_array()
        .map(|list| list.iter().filter_map(|v| v["field"].as_str()).collect())
        .unwrap_or_default()
}

pub const CREATE_PRODUCT: &str = "mutation($input: CreateProductInput!) { createProduct(input: $input) { id name category sellerId version info } }";

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a graphql-transport-ws socket on `base`'s `/graphql` (the server must agree on the
/// subprotocol).
pub async fn ws_connect(base: &str) -> Socket {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};
    let mut request = format!("{}/graphql", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
}

/// [`ws_connect`], then `connection_init` carrying `token` (the answer is left to the caller).
pub async fn ws_init(base: &str, token: &str) -> Socket {
    use futures::SinkExt;
    let mut socket = ws_connect(base).await;
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
                .to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// A socket past its handshake: [`ws_connect`], `connection_init` (with `token` when given),
/// and the server's `connection_ack`.
pub async fn ws_acked(base: &str, token: Option<&str>) -> Socket {
    let mut socket = match token {
        Some(token) => ws_init(base, token).await,
        None => {
            let mut socket = ws_connect(base).await;
            ws_send(
                &mut socket,
                json!({"type": "connection_init", "payload": {}}),
            )
            .await;
            socket
        }
    };
    let ack = ws_next(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// [`ws_acked`], then a subscription with id `1` to `query`.
pub async fn ws_subscribed(base: &str, token: Option<&str>, query: &str) -> Socket {
    let mut socket = ws_acked(base, token).await;
    ws_subscribe(&mut socket, "1", query).await;
    socket
}

/// Sends one protocol message.
pub async fn ws_send(socket: &mut Socket, message: Value) {
    use futures::SinkExt;
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            message.to_string(),
        ))
        .await
        .unwrap();
}

/// Sends `subscribe` for `query` under `id`.
pub async fn ws_subscribe(socket: &mut Socket, id: &str, query: &str) {
    ws_send(
        socket,
        json!({"id": id, "type": "subscribe", "payload": {"query": query}}),
    )
    .await;
}

/// The next text message as JSON, or `{"closed": code}` when the server closes the socket;
/// fails after 10 s without one.
pub async fn ws_next(socket: &mut Socket) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("socket open")
            .expect("valid frame");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => return json!({"closed": frame.map(|f| u16::from(f.code))}),
            _ => continue,
        }
    }
}

/// Runs `node tests/browser/<script> <args…>` (the client's own tools) and fails the test with
/// its output unless it exits 0; returns its stdout.
pub async fn node_script(script: &str, args: &[&str]) -> String {
    let path = format!("{}/tests/browser/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new("node")
        .arg(&path)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run node {path}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// The `p`th percentile (nearest rank) of sorted samples.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A free TCP port on 127.0.0.1 (the kernel picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `mercado serve` process configured like the stack's in-process servers.
pub struct ServerProcess {
    pub base: String,
    pub port: u16,
    env: Vec<(String, String)>,
    child: Option<tokio::process::Child>,
}

impl ServerProcess {
    fn env(stack: &Stack, config: &ServeConfig, port: u16) -> Vec<(String, String)> {
        let bus = match config.bus {
            BusKind::Inprocess => "inprocess",
            BusKind::Eventbridge => "eventbridge",
            BusKind::Nats => "nats",
        };
        let mut env: Vec<(String, String)> = [
            ("MERCADO_LISTEN_ADDR", format!("127.0.0.1:{port}")),
            ("DATABASE_URL", config.database.database_url.clone()),
            ("MERCADO_BUS", bus.into()),
            (
                "MERCADO_MODULES",
                config
                    .modules
                    .iter()
                    .map(|m| format!("{m:?}").to_lowercase())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("MERCADO_CATALOG_TABLE", config.aws.catalog_table.clone()),
            ("MERCADO_PROFILES_TABLE", config.aws.profiles_table.clone()),
            ("MERCADO_EVENT_BUS_NAME", config.aws.event_bus_name.clone()),
            ("MERCADO_IMAGES_BUCKET", config.images.images_bucket.clone()),
            ("MERCADO_NATS_URL", config.nats_url.clone()),
            ("MERCADO_NATS_STREAM", config.nats_stream.clone()),
            (
                "MERCADO_NATS_SUBJECT_PREFIX",
                config.nats_subject_prefix.clone(),
            ),
            ("MERCADO_NATS_CONSUMER", config.nats_consumer.clone()),
            ("MERCADO_INSTANCE_ID", format!("chaos-{port}")),
            ("MERCADO_SQS_WAIT_SECONDS", "1".into()),
            ("MERCADO_RELAY_POLL_MS", "200".into()),
            (
                "MERCADO_HOLD_TTL_SECONDS",
                config.hold_ttl_seconds.to_string(),
            ),
            (
                "MERCADO_SHUTDOWN_GRACE_SECONDS",
                config.shutdown_grace_seconds.to_string(),
            ),
            ("MERCADO_RATE_LIMIT_PER_ADDRESS", "0".into()),
            ("MERCADO_RATE_LIMIT_PER_USER", "0".into()),
            ("MERCADO_WS_MAX_CONNECTIONS_PER_ADDRESS", "0".into()),
            ("MERCADO_DATA_DIR", stack.data_dir.display().to_string()),
            (
                "MERCADO_SEARCH_DIR",
                stack
                    .data_dir
                    .join(format!("search-{port}"))
                    .display()
                    .to_string(),
            ),
            ("RUST_LOG", "warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (key, value) in [
            ("MERCADO_QUEUE_URL", &config.aws.queue_url),
            ("MERCADO_SEARCH_QUEUE_URL", &config.search_queue_url),
        ] {
            if let Some(value) = value {
                env.push((key.into(), value.clone()));
            }
        }
        env
    }

    /// Starts one and waits until it answers.
    pub async fn start(stack: &Stack, config: &ServeConfig, overrides: &[(&str, String)]) -> Self {
        let port = free_port();
        let mut env = Self::env(stack, config, port);
        for (key, value) in overrides {
            env.retain(|(k, _)| k != key);
            env.push(((*key).into(), value.clone()));
        }
        let mut server = Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            env,
            child: None,
        };
        server.restart().await;
        server
    }

    pub async fn restart(&mut self) {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mercado"))
            .arg("serve")
            .env_remove("MERCADO_IMAGE_QUEUE_URL")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let http = reqwest::Client::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "mercado did not start on {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: no shutdown, no cleanup.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// SIGTERM, then the time until the process exited (and its status).
    /// The process id, while it runs.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(tokio::process::Child::id)
            .unwrap()
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        self.child.as_mut().unwrap().wait().await.unwrap()
    }

    pub async fn terminate(&mut self) -> (Duration, std::process::ExitStatus) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().unwrap();
        let started = std::time::Instant::now();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        let status = child.wait().await.unwrap();
        (started.elapsed(), status)
    }

    /// `createProduct` of `name` in category `chaos`; the whole answer.
    pub async fn create(&self, token: &str, name: &str) -> Value {
        self.graphql(
            Some(token),
            crate::common::CREATE_PRODUCT,
            json!({"input": {"name": name, "category": "chaos"}}),
        )
        .await
    }

    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(e) => {
                json!({"errors": [{"message": e.to_string(), "extensions": {"code": "CONNECTION"}}]})
            }
        }
    }
}

/// Whether `scripts/bench --quick` asked for the smaller sizes.
pub fn bench_quick() -> bool {
    std::env::var_os("MERCADO_BENCH_QUICK").is_some()
}

/// `full`, or `quick` under `scripts/bench --quick`.
pub fn bench_size(full: usize, quick: usize) -> usize {
    if bench_quick() { quick } else { full }
}

/// Hands one benchmark's figures to `scripts/bench`: a JSON line appended to
/// `$MERCADO_BENCH_OUT` (when set) with a row of docs/benchmarks.md's table `table` and the
/// `metrics` of the command's last line. Always printed, so a benchmark run by hand shows it.
pub fn bench_record(table: &str, row: &[(&str, String)], metrics: Value) {
    let row: serde_json::Map<String, Value> = row
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
        .collect();
    let line = json!({"table": table, "row": row, "metrics": metrics});
    println!("bench {line}");
    append_line("MERCADO_BENCH_OUT", &line);
}

/// Appends `line` to the file the variable `var` names, when it is set: how a suite hands
/// its figures to the script that runs it (`scripts/bench`, `scripts/chaos`).
pub fn append_line(var: &str, line: &Value) {
    if let Some(path) = std::env::var_os(var) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(file, "{line}").unwrap();
    }
}

/// Milliseconds, two decimals, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Resident memory of process `pid`, in MiB (`VmRSS`).
pub fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}
