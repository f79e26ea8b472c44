//! The running server: HTTP plus, when configured, the background workers.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    StartupError,
    app::adapters::Adapters,
    app::config::{Module, ServeConfig},
    http::{self, AppState},
    workers::{self, relay},
};

pub struct Server {
    addr: SocketAddr,
    grace: Duration,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    pub adapters: Arc<Adapters>,
}

impl Server {
    /// Builds everything and starts serving on `listener` (or on the configured address).
    pub async fn start(
        config: ServeConfig,
        listener: Option<TcpListener>,
    ) -> Result<Self, StartupError> {
        let adapters = Arc::new(Adapters::build(&config).await?);
        let listener = match listener {
            Some(l) => l,
            None => TcpListener::bind(config.listen_addr).await.map_err(|e| {
                StartupError::Config(format!(
                    "MERCADO_LISTEN_ADDR: cannot bind {}: {e}",
                    config.listen_addr
                ))
            })?,
        };
        let addr = listener.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let app = if config.runs(Module::Api) {
            http::router(
                AppState::new(&adapters, &config, rx.clone())?,
                &config.web_root,
            )
        } else {
            http::health_router(adapters.probes.clone())
        };
        let metrics = http::metrics::router(adapters.sampler.clone());
        let (app, metrics_addr) = match config.metrics_addr {
            None => (app.merge(metrics), None),
            Some(at) => {
                let metrics_listener = TcpListener::bind(at).await.map_err(|e| {
                    StartupError::Config(format!("MERCADO_METRICS_ADDR: cannot bind {at}: {e}"))
                })?;
                let bound = metrics_listener.local_addr()?;
                tasks.push(serve_http(metrics_listener, metrics, rx.clone()));
                (app, Some(bound))
            }
        };
        tasks.push(serve_http(listener, app, rx.clone()));

        if config.runs(Module::Relay) {
            tasks.push(tokio::spawn(relay::run(
                adapters.outbox.clone(),
                adapters.publisher.clone(),
                config.relay_batch,
                config.relay_poll(),
                rx.clone(),
            )));
        }
        if config.runs(Module::Saga) {
            if let Some(saga_tasks) = &adapters.saga_tasks {
                tasks.push(tokio::spawn(crate::workers::consumer::run(
                    saga_tasks.clone(),
                    rx.clone(),
                )));
            }
            tasks.push(tokio::spawn(crate::workers::saga::run(
                adapters.saga.clone(),
                adapters.saga_wakeups.clone(),
                std::time::Duration::from_millis(200),
                rx.clone(),
            )));
        }
        if config.runs(Module::Reconciler) {
            tasks.push(tokio::spawn(crate::workers::reconciler::run(
                adapters.reconciler.clone(),
                std::time::Duration::from_secs(config.reconcile_interval_seconds),
                rx.clone(),
            )));
        }
        if config.feeds_search()
            && let Some(search) = &adapters.search
        {
            // Level with PostgreSQL first: a new index starts empty, and a crash may have
            // lost the last uncommitted batch.
            let (source, index) = (adapters.documents.clone(), search.clone());
            tasks.push(tokio::spawn(async move {
                match crate::workers::reconciler::repair(source.as_ref(), index.as_ref()).await {
                    Ok(r) => tracing::info!(checked = r.checked, repaired = r.repaired, "search index caught up"),
                    Err(e) => tracing::warn!(error = %e, "search index catch-up failed; it follows events from now on"),
                }
            }));
            tasks.push(tokio::spawn(crate::workers::run_flushes(
                search.clone(),
                Duration::from_millis(config.search_commit_ms.max(10)),
                rx.clone(),
            )));
        }
        if config.runs(Module::Consumer) {
            for consumer in [
                &adapters.consumer,
                &adapters.search_consumer,
                &adapters.image_consumer,
            ]
            .into_iter()
            .flatten()
            {
                tasks.push(tokio::spawn(crate::workers::consumer::run(
                    consumer.clone(),
                    rx.clone(),
                )));
            }
        }
        tracing::info!(%addr, ?metrics_addr, bus = ?config.bus, modules = ?config.modules, "mercado listening");
        Ok(Self {
            addr,
            grace: Duration::from_secs(config.shutdown_grace_seconds),
            shutdown,
            tasks,
            adapters,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes WebSockets (1001), lets in-flight requests and worker steps
    /// finish within the shutdown grace, then abandons whatever is still running.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let aborts: Vec<_> = self.tasks.iter().map(JoinHandle::abort_handle).collect();
        let finished = tokio::time::timeout(self.grace, async {
            for task in self.tasks {
                let _ = task.await;
            }
            self.adapters.close().await;
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                grace_seconds = self.grace.as_secs(),
                "shutdown grace over: abandoning in-flight work"
            );
            for abort in aborts {
                abort.abort();
            }
        }
    }
}

fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { workers::stopped(&mut shutdown).await })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "http server failed");
        }
    })
}

/// Runs until Ctrl-C or SIGTERM, then shuts down gracefully; a second signal exits at once.
pub async fn serve(config: ServeConfig) -> Result<(), StartupError> {
    let server = Server::start(config, None).await?;
    shutdown_signal().await;
    tracing::info!("shutting down (a second signal exits at once)");
    tokio::select! {
        () = server.stop() => {}
        () = shutdown_signal() => {
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
