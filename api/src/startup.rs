//! Builds the server: bound listener first (so callers, tests among them, learn the real
//! port before it runs), then the actix-web app.

use std::{
    net::TcpListener,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex, mpsc},
    thread,
};

use actix_web::{App, dev::Server, middleware, web};
use register::{Backend, DbPool};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{
    error,
    middleware::{
        cors::Cors,
        etag::{ETag, WeakenWhenEncoded},
        rate_limit::RateLimit,
    },
    openapi::ApiDoc,
    packages::Publisher,
    routes,
};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub backend: Backend,
    /// Named in every OCDS package served.
    pub publisher: Publisher,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Requests per second each client IP may sustain; 0 turns rate limiting off.
    pub rate_limit_per_second: u32,
    /// Requests a client IP may send at once above that rate; 0 turns rate limiting off.
    pub rate_limit_burst: u32,
    /// The feeds configured for the sync daemon, for the sync status routes.
    pub sources: Arc<std::collections::BTreeMap<String, register::config::SourceSettings>>,
    /// The threads that run database work, as many as the pool has connections.
    db_workers: Arc<DbWorkers>,
}

/// A job for the database threads.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for blocking database work, one per pooled connection. More would
/// only wait for a connection; a growing pool of short-lived blocking threads (what
/// `web::block` gives) cost a context switch to a cold thread per request and kept an
/// allocator heap per thread: under load, 61 threads and most of the server's memory.
/// Jobs queue in order; the threads stop when the last state is dropped.
struct DbWorkers {
    jobs: mpsc::Sender<Job>,
}

impl DbWorkers {
    fn start(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = thread::Builder::new()
                .name(format!("ocreg-db-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take a job, never while running it.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking job fails its request (its result sender is dropped),
                        // not the thread.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start database thread {n}: {e}");
            }
        }
        Self { jobs }
    }
}

impl AppState {
    /// State with the default publisher and limits of [`register::Settings`].
    pub fn new(pool: DbPool, backend: Backend) -> Self {
        Self::from_settings(pool, backend, &register::Settings::default())
    }

    pub fn from_settings(pool: DbPool, backend: Backend, settings: &register::Settings) -> Self {
        Self {
            pool,
            backend,
            publisher: Publisher::new(settings.publisher_name.clone(), &settings.public_url),
            max_body_bytes: settings.max_body_bytes,
            rate_limit_per_second: settings.rate_limit_per_second,
            rate_limit_burst: settings.rate_limit_burst,
            sources: Arc::new(settings.sources.clone()),
            db_workers: Arc::new(DbWorkers::start(settings.database_pool_size.max(1) as usize)),
        }
    }

    /// Runs blocking database work off the async threads, on the database threads (at most
    /// one task per pooled connection at a time).
    pub async fn blocking<F, R>(&self, work: F) -> Result<R, crate::error::ApiError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The requester may have gone (client disconnected): nothing to tell then.
            let _ = done.send(work());
        });
        self.db_workers
            .jobs
            .send(job)
            .map_err(|_| crate::error::ApiError::Internal("database threads stopped".into()))?;
        result
            .await
            .map_err(|_| crate::error::ApiError::Internal("the database work failed".into()))
    }
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `address` (port 0 picks a free one) and prepares the server; nothing is served
    /// until [`Application::run_until_stopped`].
    pub fn build(address: &str, state: AppState, workers: usize) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address)?;
        let port = listener.local_addr()?.port();
        // One table of clients shared by every worker.
        let rate_limit = RateLimit::new(state.rate_limit_per_second, state.rate_limit_burst);
        let state = web::Data::new(state);
        let server = actix_web::HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(state.clone())
                // Bad query parameters (unknown names, wrong types) answer problem+json too.
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    error::ApiError::BadRequest(format!("query parameters: {err}")).into()
                }))
                .configure(routes::configure)
                .split_for_parts();
            app.service(web::redirect("/docs", "/docs/"))
                .service(web::redirect("/extension", "/extension/"))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .url("/openapi.json", api)
                        // The default validator badge calls an external service; the docs
                        // must work with no network.
                        .config(Config::new(["/openapi.json"]).validator_url("none")),
                )
                .default_service(web::to(error::not_found))
                // Innermost first. The ETag is taken from the identity body, inside Compress;
                // compressed answers then get it as a weak tag.
                .wrap(ETag)
                .wrap(middleware::Compress::default())
                .wrap(WeakenWhenEncoded)
                // Refused before any handler runs; /health is exempt.
                .wrap(rate_limit.clone())
                // Outside the limiter, so a 429 to a read carries the CORS grant too.
                .wrap(Cors)
                // One access-log line per request (through the `log` bridge into tracing),
                // inside the span that carries the request id.
                .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                .wrap(TracingLogger::default())
        })
        .listen(listener)?
        .workers(workers.max(1))
        // Actix stops on SIGINT/SIGTERM: it stops accepting, lets requests in flight finish
        // (up to this many seconds), then exits.
        .shutdown_timeout(30)
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
