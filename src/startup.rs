//! Wiring: builds the store, services, HTTP server and delivery workers from
//! [`Settings`]; `Application::build → port() → run_until_stopped()`.

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::seal::MasterKey;
use crate::delivery::sender::Sender;
use crate::delivery::worker::Worker;
use crate::http::{self, error::ApiError, ratelimit::PublicLimiter, AppState};
use crate::precedence::HttpThreadPriority;
use crate::service::rotation::ResealReport;
use crate::service::Services;
use crate::store::form_cache::FormCache;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::store::Store;
use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long in-flight deliveries may run on after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Connects the store the settings ask for: Redis when `GAPRELAY_REDIS_URL` is set,
/// otherwise the embedded in-memory store (said loudly: nothing survives a restart).
pub async fn connect_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.redis_url {
        Some(urls) if settings.redis_cluster => {
            let seeds: Vec<String> = urls.split(',').map(|u| u.trim().to_owned()).collect();
            Ok(Arc::new(RedisStore::connect_cluster(&seeds).await?))
        }
        Some(url) => Ok(Arc::new(RedisStore::connect(url).await?)),
        None => {
            tracing::warn!(
                "GAPRELAY_REDIS_URL is not set: using the EMBEDDED IN-MEMORY STORE. One process only; \
                 every practitioner, key and queued message is LOST when it stops. Not for production."
            );
            Ok(Arc::new(MemoryStore::new()))
        }
    }
}

/// Extra wiring for tests and the demo.
pub struct Options {
    /// Run delivery workers in this process.
    pub run_workers: bool,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Use this store instead of connecting one.
    pub store: Option<Arc<dyn Store>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            run_workers: true,
            clock: Arc::new(SystemClock),
            store: None,
        }
    }
}

/// The built service, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    services: Services,
    worker: Worker,
    worker_task: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

impl Application {
    /// Builds everything and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings, options: Options) -> anyhow::Result<Application> {
        let master_key = settings.master_key.clone().context(
            "GAPRELAY_MASTER_KEY is required: generate one with `openssl rand -base64 32`",
        )?;
        if settings.delivery.concurrency == 0
            && options.store.is_none()
            && settings.redis_url.is_none()
        {
            anyhow::bail!("GAPRELAY_WORKER_CONCURRENCY=0 needs GAPRELAY_REDIS_URL: with the in-memory store no other process could deliver what this one accepts");
        }
        let store = match options.store {
            Some(s) => s,
            None => connect_store(&settings).await?,
        };
        let services = services(
            &settings,
            store.clone(),
            master_key.clone(),
            options.clock.clone(),
        );
        let forms = services.forms.clone();
        tracing::info!(
            key.id = %master_key.key_id(),
            previous = ?master_key.previous_key_ids(),
            "master key loaded"
        );
        if settings.allow_private_targets {
            tracing::warn!("GAPRELAY_ALLOW_PRIVATE_TARGETS is on: webhooks may target loopback and private addresses (development only)");
        }
        if settings.admin_token.is_none() {
            tracing::warn!("GAPRELAY_ADMIN_TOKEN is not set: operator routes answer 401");
        }
        let sender = Sender::new(settings.delivery.timeout, settings.allow_private_targets)?;
        let worker = Worker::new(
            store,
            sender,
            master_key,
            options.clock,
            settings.delivery.clone(),
            Some(forms),
            services.metrics.clone(),
            services.breakers.clone(),
            notifier(&settings)?,
            services.queued.clone(),
        );

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let limiter = Arc::new(PublicLimiter::new(&settings.public));
        let state = web::Data::new(AppState {
            services: services.clone(),
            admin_token: settings.admin_token.clone(),
            metrics_token: settings.metrics_token.clone(),
            body_read_timeout: settings.http.body_read,
            limiter: limiter.clone(),
            demo_form: settings.demo_form.clone(),
        });
        let tls_config = settings
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        let tls = tls_config.is_some();
        // A connection between requests longer than this is closed (`slow_clients`).
        let between_requests = settings.http.keep_alive + settings.http.request_head;
        let api_only = settings.delivery.concurrency == 0;
        // The factory runs on each HTTP worker thread as it starts.
        let priority =
            HttpThreadPriority::for_process(options.run_workers && !api_only, settings.http_nice);
        let server = HttpServer::new(move || {
            priority.apply_to_current_thread();
            App::new()
                .app_data(state.clone())
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| ApiError::not_found("resource").into()),
                )
                .app_data(web::QueryConfig::default().error_handler(|_, _| {
                    ApiError::bad_request("the query string is not valid for this route").into()
                }))
                .wrap(
                    middleware::ErrorHandlers::new()
                        .default_handler(http::error::ensure_error_shape),
                )
                .wrap(middleware::from_fn(http::ratelimit::limit_public))
                .wrap(middleware::from_fn(http::cors::cors))
                .wrap(middleware::from_fn(http::slow_clients::require_length))
                // Outside the error shaping and CORS, so their answers carry them too.
                .wrap(middleware::from_fn(move |req, next| {
                    http::headers::security_headers(tls, req, next)
                }))
                .wrap(middleware::from_fn(http::logging::log_request))
                .wrap(middleware::from_fn(http::slow_clients::track_requests))
                .configure(http::configure)
                .default_service(web::to(http::routes::not_found))
        })
        // Deadlines, so that a client dripping its request (or idling) cannot hold a
        // connection and its file descriptor for long; the body's own deadline is
        // applied where it is read (`http::extract`).
        .keep_alive(settings.http.keep_alive)
        .client_request_timeout(settings.http.request_head)
        .client_disconnect_timeout(Duration::from_secs(1))
        .on_connect(move |connection, data| {
            http::slow_clients::watch_connection(connection, data, between_requests)
        });
        let server = match tls_config {
            Some(config) => server.listen_rustls_0_23(listener, config)?,
            None => server.listen(listener)?,
        }
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        // Signals are ours (see `run_until_stopped`): the workers must stop claiming at
        // the same moment the server stops accepting.
        .disable_signals()
        .run();

        let worker_task = options.run_workers.then(|| {
            let (tx, rx) = watch::channel(false);
            tokio::spawn(housekeeping(services.clone(), limiter, rx.clone()));
            let handle = if api_only {
                tracing::info!("GAPRELAY_WORKER_CONCURRENCY is 0: this process serves the API only; `gaprelay worker` processes deliver");
                tokio::spawn(announce_queued(services.clone(), rx))
            } else {
                let store = services.store.clone();
                let bell = services.queued.clone();
                let heard = rx.clone();
                tokio::spawn(async move { store.listen_for_queued(bell, heard).await });
                tokio::spawn(worker.clone().run(rx))
            };
            (tx, handle)
        });
        Ok(Application {
            port,
            server,
            services,
            worker,
            worker_task,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The use cases (for seeding the demo).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// A worker sharing this application's store and clock (tests drive it directly).
    pub fn worker(&self) -> Worker {
        self.worker.clone()
    }

    /// Serves until SIGINT/SIGTERM, then stops taking requests, lets in-flight
    /// deliveries finish within the grace period and leaves the rest queued.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        let worker_task = self.worker_task;
        let stop = async {
            shutdown_signal().await;
            tracing::info!(
                "shutting down: no new requests or deliveries; finishing in-flight ones"
            );
            if let Some((tx, _)) = &worker_task {
                let _ = tx.send(true);
            }
            handle.stop(true).await;
        };
        // Either a signal stops the server, or the server ends on its own.
        let server_result = tokio::select! {
            res = server => res,
            () = stop => Ok(Ok(())),
        };
        if let Some((tx, worker)) = worker_task {
            let _ = tx.send(true);
            if tokio::time::timeout(SHUTDOWN_GRACE, worker).await.is_err() {
                tracing::warn!("in-flight deliveries did not finish in time; their leases return them to the queue");
            }
        }
        server_result
            .context("HTTP server task failed")?
            .context("HTTP server failed")
    }
}

/// The notifier that emails practices about failing endpoints: SMTP when
/// `GAPRELAY_SMTP_URL` is set, otherwise none (said once, at start).
fn notifier(settings: &Settings) -> anyhow::Result<Arc<dyn crate::notify::Notifier>> {
    match &settings.smtp {
        Some(smtp) => {
            tracing::info!(
                smtp.host = smtp.host(),
                smtp.port = smtp.port(),
                "alerts about failing endpoints are emailed"
            );
            Ok(Arc::new(crate::notify::smtp::SmtpNotifier::new(smtp)?))
        }
        None => {
            tracing::info!("GAPRELAY_SMTP_URL is not set: practices are not emailed when an endpoint keeps failing");
            Ok(Arc::new(crate::notify::Disabled))
        }
    }
}

/// The shortest time between two announcements of an API-only process: a busy one
/// announces about 200 times a second, not once per intake.
const ANNOUNCE_EVERY: Duration = Duration::from_millis(5);

/// In an API-only process (`GAPRELAY_WORKER_CONCURRENCY=0`): whenever the use cases
/// queue something, tells other processes' idle workers (pub/sub), at most every
/// [`ANNOUNCE_EVERY`]; what is queued meanwhile rides on the next announcement.
async fn announce_queued(services: Services, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        tokio::select! {
            _ = services.queued.rung() => {
                let partitions = services.queued.take();
                if let Err(e) = services.store.announce_queued(partitions).await {
                    tracing::debug!(error = %e, "could not announce queued messages; workers find them at their next poll");
                }
                tokio::time::sleep(ANNOUNCE_EVERY).await;
            }
            _ = shutdown.changed() => {}
        }
    }
}

/// How often scheduled erasures are looked for.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// Periodic chores of `serve` instances: erasing practitioners whose 30 days are up,
/// forgetting rate-limit entries of clients gone quiet.
async fn housekeeping(
    services: Services,
    limiter: Arc<PublicLimiter>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        limiter.forget_idle();
        if let Err(e) = services.run_due_erasures().await {
            tracing::warn!(error = %e, "scheduled erasures failed; retrying later");
        }
        tokio::select! {
            _ = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The use cases, wired to `store` as the settings say.
fn services(
    settings: &Settings,
    store: Arc<dyn Store>,
    master_key: MasterKey,
    clock: Arc<dyn Clock>,
) -> Services {
    Services {
        store,
        master_key,
        clock,
        allow_private_targets: settings.allow_private_targets,
        resolver: Arc::new(crate::service::resolve::SystemResolver),
        message_ttl: settings.delivery.message_ttl,
        forms: Arc::new(FormCache::new(settings.form_cache_ttl)),
        audit_retention: settings.audit_retention,
        min_fill_time: settings.public.min_fill_time,
        public_url: settings.public_url.clone(),
        queued: Arc::default(),
        metrics: Arc::default(),
        key_touches: Arc::default(),
        breakers: Arc::default(),
    }
}

/// `gaprelay rotate-master-key`: re-seals every stored secret under
/// `GAPRELAY_MASTER_KEY`, opening old values with `GAPRELAY_PREVIOUS_MASTER_KEYS`.
pub async fn rotate_master_key(settings: Settings) -> anyhow::Result<ResealReport> {
    let master_key = settings
        .master_key
        .clone()
        .context("GAPRELAY_MASTER_KEY is required: the new key, to seal under")?;
    if settings.redis_url.is_none() {
        anyhow::bail!("`gaprelay rotate-master-key` needs GAPRELAY_REDIS_URL: the in-memory store holds nothing between runs");
    }
    let store = connect_store(&settings).await?;
    let services = services(&settings, store, master_key, Arc::new(SystemClock));
    services
        .reseal_stored_secrets()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs delivery workers only (`gaprelay worker`) until SIGINT/SIGTERM, serving
/// `/healthz`, `/readyz` and `/metrics` on `GAPRELAY_WORKER_BIND`.
pub async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    let master_key = settings
        .master_key
        .clone()
        .context("GAPRELAY_MASTER_KEY is required: generate one with `openssl rand -base64 32`")?;
    if settings.redis_url.is_none() {
        anyhow::bail!("`gaprelay worker` needs GAPRELAY_REDIS_URL: the in-memory store cannot be shared between processes");
    }
    if settings.delivery.concurrency == 0 {
        anyhow::bail!("GAPRELAY_WORKER_CONCURRENCY is 0: a worker with no delivery slots has nothing to do (set 1 or more)");
    }
    let store = connect_store(&settings).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let services = services(&settings, store.clone(), master_key.clone(), clock.clone());
    let bell = services.queued.clone();
    let sender = Sender::new(settings.delivery.timeout, settings.allow_private_targets)?;
    let worker = Worker::new(
        store.clone(),
        sender,
        master_key,
        clock,
        settings.delivery.clone(),
        Some(services.forms.clone()),
        services.metrics.clone(),
        services.breakers.clone(),
        notifier(&settings)?,
        services.queued.clone(),
    );
    // Health and metrics, so that a worker is probed and scraped like `serve`.
    let listener = TcpListener::bind(settings.worker_bind).with_context(|| {
        format!(
            "cannot listen on {} (GAPRELAY_WORKER_BIND)",
            settings.worker_bind
        )
    })?;
    let port = listener.local_addr()?.port();
    let state = web::Data::new(AppState {
        services,
        admin_token: None,
        metrics_token: settings.metrics_token.clone(),
        body_read_timeout: settings.http.body_read,
        limiter: Arc::new(PublicLimiter::new(&settings.public)),
        demo_form: None,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(middleware::ErrorHandlers::new().default_handler(http::error::ensure_error_shape))
            .configure(http::configure_worker)
            .default_service(web::to(http::routes::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let server_handle = server.handle();
    let served = tokio::spawn(server);
    tracing::info!(
        port,
        "gaprelay worker delivering; /healthz, /readyz and /metrics served"
    );
    let (tx, rx) = watch::channel(false);
    // API-only processes announce what they queue: this worker claims it at once.
    let heard = rx.clone();
    tokio::spawn(async move { store.listen_for_queued(bell, heard).await });
    let handle = tokio::spawn(worker.run(rx));
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight deliveries");
    let _ = tx.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, handle).await;
    server_handle.stop(true).await;
    let _ = served.await;
    Ok(())
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
