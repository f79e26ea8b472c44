//! The `mercado` command line. Configuration comes from environment variables, each also
//! accepted as a flag; a bad or missing value stops with one line naming it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mercado_resolvers::Role;

use crate::{
    StartupError,
    adapters::auth::LocalIssuer,
    app::config::{AuthConfig, AwsConfig, DatabaseConfig, ImagesConfig, SearchEngine, ServeConfig},
};

#[derive(Parser)]
#[command(
    name = "mercado",
    version,
    about = "Marketplace backend: one GraphQL API over CQRS stores"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the background work (MERCADO_MODULES says which parts).
    Serve(Box<ServeConfig>),
    /// Repair the read model from PostgreSQL once (also rebuilds an empty table), then exit.
    /// With --check, only compare item by item and list the differences (exit 1 if any).
    Reconcile {
        /// Compare and report; write nothing.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        config: Box<ServeConfig>,
    },
    /// Rebuild the search index from empty from PostgreSQL, then exit: this instance's
    /// MERCADO_SEARCH_DIR (stop the server that uses it first: an index has one writer), or
    /// with MERCADO_SEARCH=opensearch the shared MERCADO_OPENSEARCH_INDEX (searches find
    /// less until it is done).
    Reindex(Box<ServeConfig>),
    /// Apply pending PostgreSQL migrations, then exit.
    Migrate(DatabaseConfig),
    /// Create the DynamoDB tables; with MERCADO_QUEUE_URL, the EventBridge bus, the SQS queue
    /// and the rule between them; with MERCADO_COGNITO_POOL_NAME, a Cognito user pool, its app
    /// client and the role groups (printing the ids to export). Idempotent.
    Provision {
        #[command(flatten)]
        aws: AwsConfig,
        #[command(flatten)]
        images: ImagesConfig,
        /// Name of the Cognito user pool to find or create.
        #[arg(
            long,
            env = "MERCADO_COGNITO_POOL_NAME",
            value_name = "MERCADO_COGNITO_POOL_NAME"
        )]
        cognito_pool_name: Option<String>,
        /// SQS queue of an instance's own search feed (bus `eventbridge`): created with its
        /// own rule, so that instance's index gets every event.
        #[arg(
            long,
            env = "MERCADO_SEARCH_QUEUE_URL",
            value_name = "MERCADO_SEARCH_QUEUE_URL"
        )]
        search_queue_url: Option<String>,
        /// The saga's step queue (MERCADO_SAGA_ENGINE=stepfunctions): created with its
        /// dead-letter queue and the state machine MERCADO_SAGA_STATE_MACHINE_NAME, whose ARN
        /// is printed as MERCADO_SAGA_STATE_MACHINE_ARN=….
        #[arg(
            long,
            env = "MERCADO_SAGA_QUEUE_URL",
            value_name = "MERCADO_SAGA_QUEUE_URL"
        )]
        saga_queue_url: Option<String>,
        /// Name of the saga's state machine to find or create.
        #[arg(
            long,
            env = "MERCADO_SAGA_STATE_MACHINE_NAME",
            value_name = "MERCADO_SAGA_STATE_MACHINE_NAME",
            default_value = "mercado-saga"
        )]
        saga_state_machine_name: String,
    },
    /// Insert a few demo products (only into a store that has none of them yet).
    SeedDemo(DatabaseConfig),
    /// Print a bearer token signed by the local issuer (MERCADO_AUTH=local).
    DevToken {
        /// Subject: the user id.
        #[arg(long)]
        sub: String,
        /// A role to grant (repeatable): buyer or seller.
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: i64,
        #[command(flatten)]
        auth: AuthConfig,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| format!("unknown role {value:?} (buyer or seller)"))
}

pub async fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("mercado: {}", one_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    let _traces = crate::app::telemetry::init();
    match execute(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mercado: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Clap's multi-line report as one line: the error and the argument it names.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}

async fn execute(command: Command) -> Result<(), StartupError> {
    match command {
        Command::Serve(config) => crate::app::server::serve(*config).await,
        Command::Reconcile { check, config } => {
            // Only the catalog: this command keeps no search index of its own.
            let config = ServeConfig {
                search: SearchEngine::Off,
                ..*config
            };
            let c = crate::app::adapters::Adapters::build(&config).await?;
            let failed = |e: mercado_resolvers::StoreError| StartupError::Aws(e.to_string());
            if check {
                let r = c.reconciler.check_once().await.map_err(failed)?;
                for d in &r.differences {
                    let version = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
                    println!(
                        "{} {} postgres={} read-model={}",
                        d.drift.as_str(),
                        d.id,
                        version(d.source_version),
                        version(d.model_version)
                    );
                }
                println!("checked {}, differences {}", r.checked, r.differences.len());
                c.close().await;
                return match r.differences.len() {
                    0 => Ok(()),
                    n => Err(StartupError::Drift(n)),
                };
            }
            match c.reconciler.reconcile_once().await.map_err(failed)? {
                Some(r) => println!(
                    "reconciled: checked {}, repaired {}, removed {}",
                    r.checked, r.repaired, r.removed
                ),
                None => println!("another instance is reconciling; nothing done"),
            }
            c.close().await;
            Ok(())
        }
        Command::Migrate(db) => {
            let pool = crate::adapters::postgres::connect(&db).await?;
            crate::adapters::postgres::migrate(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Provision {
            aws,
            images,
            cognito_pool_name,
            search_queue_url,
            saga_queue_url,
            saga_state_machine_name,
        } => {
            provision(
                &aws,
                &images,
                cognito_pool_name.as_deref(),
                search_queue_url.as_deref(),
            )
            .await?;
            if let Some(queue_url) = saga_queue_url {
                let sdk = crate::adapters::aws::load().await;
                let arn = crate::adapters::provision::provision_saga(
                    &aws_sdk_sfn::Client::new(&sdk),
                    &aws_sdk_sqs::Client::new(&sdk),
                    &saga_state_machine_name,
                    &queue_url,
                    aws.max_receives,
                )
                .await?;
                println!("MERCADO_SAGA_STATE_MACHINE_ARN={arn}");
            }
            Ok(())
        }
        Command::Reindex(config) => {
            // From empty: the engine's index is dropped, then rebuilt from PostgreSQL.
            let where_ = match config.search {
                SearchEngine::Opensearch => {
                    let settings = &config.opensearch;
                    let aws = crate::adapters::aws::load().await;
                    crate::adapters::search::OpenSearch::new(
                        settings.opensearch_url.as_deref().unwrap_or_default(),
                        &settings.opensearch_index,
                        settings.opensearch_auth,
                        &aws,
                    )
                    .map_err(|e| StartupError::Config(format!("MERCADO_OPENSEARCH_URL: {e}")))?
                    .delete_index()
                    .await
                    .map_err(|e| StartupError::Aws(e.to_string()))?;
                    format!("OpenSearch index {}", settings.opensearch_index)
                }
                _ => {
                    if config.search_dir.exists() {
                        std::fs::remove_dir_all(&config.search_dir).map_err(|e| {
                            StartupError::Config(format!(
                                "MERCADO_SEARCH_DIR ({}): {e}",
                                config.search_dir.display()
                            ))
                        })?;
                    }
                    config.search_dir.display().to_string()
                }
            };
            let config = ServeConfig {
                search: match config.search {
                    SearchEngine::Opensearch => SearchEngine::Opensearch,
                    _ => SearchEngine::Tantivy,
                },
                modules: vec![
                    crate::app::config::Module::Relay,
                    crate::app::config::Module::Consumer,
                ],
                ..*config
            };
            let adapters = crate::app::adapters::Adapters::build(&config).await?;
            let index = adapters
                .search
                .clone()
                .ok_or_else(|| StartupError::Config("no search index was opened".into()))?;
            let report =
                crate::workers::reconciler::repair(adapters.documents.as_ref(), index.as_ref())
                    .await;
            let report = match report {
                Ok(report) => crate::workers::Flush::flush(index.as_ref())
                    .await
                    .map(|_| report),
                Err(e) => Err(e),
            }
            .map_err(|e| StartupError::Aws(e.to_string()))?;
            println!(
                "reindexed {where_}: {} products, {} indexed",
                report.checked, report.repaired
            );
            adapters.close().await;
            Ok(())
        }
        Command::SeedDemo(db) => {
            let pool = crate::adapters::postgres::connect(&db).await?;
            crate::adapters::postgres::migrate(&pool).await?;
            // Demo products have no images, so no image URL base is needed.
            let store = crate::adapters::postgres::PgInventory::new(pool, "");
            let created = crate::app::demo::seed(&store).await?;
            println!("demo products created: {created}");
            Ok(())
        }
        Command::DevToken {
            sub,
            roles,
            ttl_seconds,
            auth,
        } => {
            let issuer = LocalIssuer::load_or_create(
                &auth.data_dir,
                &auth.jwt_issuer,
                &auth.jwt_audience,
                &auth.jwt_roles_claim,
            )?;
            let token = issuer
                .issue(&sub, &roles, ttl_seconds)
                .map_err(StartupError::Auth)?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn provision(
    aws: &AwsConfig,
    images: &ImagesConfig,
    cognito_pool_name: Option<&str>,
    search_queue_url: Option<&str>,
) -> Result<(), StartupError> {
    let sdk = crate::adapters::aws::load().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let state = |created: bool| if created { "created" } else { "exists" };
    let created =
        crate::adapters::provision::provision_catalog_table(&dynamo, &aws.catalog_table).await?;
    println!("dynamodb table {}: {}", aws.catalog_table, state(created));
    let created =
        crate::adapters::provision::provision_profiles_table(&dynamo, &aws.profiles_table).await?;
    println!("dynamodb table {}: {}", aws.profiles_table, state(created));
    if let Some(queue_url) = &images.image_queue_url {
        crate::adapters::provision::provision_images(
            &crate::adapters::s3::client(&sdk),
            &aws_sdk_sqs::Client::new(&sdk),
            &images.images_bucket,
            &images.image_upload_origins,
            queue_url,
        )
        .await?;
        println!("s3 bucket {} notifies {queue_url}", images.images_bucket);
    }
    if let Some(name) = cognito_pool_name {
        let (pool, client) = crate::adapters::provision::provision_cognito(
            &aws_sdk_cognitoidentityprovider::Client::new(&sdk),
            name,
        )
        .await?;
        println!("MERCADO_COGNITO_USER_POOL_ID={pool}");
        println!("MERCADO_COGNITO_CLIENT_ID={client}");
    }
    for queue_url in [aws.queue_url.as_deref(), search_queue_url]
        .into_iter()
        .flatten()
    {
        let arn = crate::adapters::provision::provision_event_route(
            &aws_sdk_eventbridge::Client::new(&sdk),
            &aws_sdk_sqs::Client::new(&sdk),
            &aws.event_bus_name,
            queue_url,
            aws.max_receives,
        )
        .await?;
        println!("eventbridge bus {} routes to {arn}", aws.event_bus_name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_declares_each_setting_once() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn clap_errors_fold_into_one_line_naming_the_variable() {
        let err = Cli::try_parse_from(["mercado", "migrate"]).err();
        let line = one_line(&err.map(|e| e.render().to_string()).unwrap_or_default());
        assert!(!line.contains('\n'));
        assert!(line.contains("DATABASE_URL"), "{line}");
    }
}
