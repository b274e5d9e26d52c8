//! `tollgate serve`: a small read-only web dashboard over the history store
//! (SQLite or PostgreSQL) and Prometheus metrics.
//!
//! Pages reuse the HTML report (the same page and script): `/` is the report
//! of the latest run (of `?pipeline=`, or `?run=KEY`) with its test table
//! loaded on demand from `/api/tests`; `/runs` lists runs; `/metrics` is the
//! OpenMetrics exposition.
//!
//! Access: loopback only unless a bearer token or basic-auth credentials are
//! configured (from the environment, never the command line); with
//! credentials configured every request must carry them (401 otherwise).
//! Every string served passes through the redactor.

mod auth;
mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tollgate_report::metrics::{PipelineMetrics, QuarantineFigures};
use tollgate_report::{Components, GatherError, GatherOptions};
use tollgate_store::{Store, StoreStamp};

pub use auth::{Auth, AuthError, BASIC_ENV, TOKEN_ENV};

/// A redaction function: `Some(redacted)` when the text held a secret.
pub type Redact = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the server shows and how.
pub struct ServeOptions {
    pub title: String,
    /// Runs of history per report.
    pub runs: u32,
    /// Per-test series in `/metrics`: the K flakiest and K slowest tests.
    pub top_k: usize,
    /// How far back flakiness is measured, milliseconds.
    pub flaky_window_ms: i64,
    pub auth: Option<Auth>,
    pub redact: Redact,
    pub components: Components,
    pub quarantine: QuarantineFigures,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve on {0} without authentication: set {TOKEN_ENV} (bearer token) or \
         {BASIC_ENV} (user:password), or bind to a loopback address such as 127.0.0.1"
    )]
    NoAuth(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Refuses a non-loopback address without credentials.
pub fn check_bind(addr: SocketAddr, auth: Option<&Auth>) -> Result<(), ServeError> {
    if addr.ip().is_loopback() || auth.is_some() {
        Ok(())
    } else {
        Err(ServeError::NoAuth(addr))
    }
}

type CacheKey = (Option<String>, Option<String>, StoreStamp);

struct Built {
    /// The report JSON, redacted, without its test table.
    page: serde_json::Value,
    /// The test table JSON, redacted.
    tests: String,
}

struct AppState {
    store: Mutex<Store>,
    options: ServeOptions,
    cache: Mutex<HashMap<CacheKey, Arc<Built>>>,
    metrics: Mutex<Option<(StoreStamp, String)>>,
}

type Shared = Arc<AppState>;

/// The router (for tests and for [`serve`]).
pub fn router(store: Store, options: ServeOptions) -> Router {
    let state: Shared = Arc::new(AppState {
        store: Mutex::new(store),
        options,
        cache: Mutex::new(HashMap::new()),
        metrics: Mutex::new(None),
    });
    Router::new()
        .route("/", get(index))
        .route("/runs", get(runs_page))
        .route("/api/report", get(api_report))
        .route("/api/tests", get(api_tests))
        .route("/api/runs", get(api_runs))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require,
        ))
        .with_state(state)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = router(store, options);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
struct Selector {
    run: Option<String>,
    pipeline: Option<String>,
    limit: Option<u32>,
}

/// An error page or JSON error, never a `Debug` dump.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.1 + "\n",
        )
            .into_response()
    }
}

async fn blocking<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&AppState) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|_| Failure(StatusCode::INTERNAL_SERVER_ERROR, "request failed".into()))?
}

fn store_failure(e: tollgate_store::StoreError) -> Failure {
    Failure(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot read the store: {e}"),
    )
}

impl AppState {
    fn redact(&self, text: String) -> String {
        (self.options.redact)(&text).unwrap_or(text)
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The report for a selector, from the cache while the store is unchanged.
    fn built(&self, sel: &Selector) -> Result<Arc<Built>, Failure> {
        let mut store = self.store();
        let stamp = store.stamp().map_err(store_failure)?;
        let key = (sel.run.clone(), sel.pipeline.clone(), stamp);
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(hit.clone());
        }
        let now = now_ms();
        let input = tollgate_report::gather(
            &mut store,
            &GatherOptions {
                run: sel.run.clone(),
                pipeline: sel.pipeline.clone(),
                runs: self.options.runs,
                base_branch: None,
                include_tests: true,
                title: self.options.title.clone(),
                now_ms: now,
                flaky_since_ms: now.saturating_sub(self.options.flaky_window_ms),
            },
        )
        .map_err(|e| match e {
            GatherError::Store(e) => store_failure(e),
            other => Failure(StatusCode::NOT_FOUND, other.to_string()),
        })?;
        drop(store);
        let report = tollgate_report::build(&input, &self.options.components);
        let mut value = tollgate_report::redacted_json(&report, &*self.options.redact);
        let tests = value
            .get_mut("tests")
            .map(serde_json::Value::take)
            .unwrap_or(serde_json::Value::Null);
        let run_key = report.meta.run.key.clone();
        value["tests_url"] = serde_json::Value::String(format!(
            "api/tests?run={}",
            pages::url_encode(&self.redact(run_key.clone()))
        ));
        let built = Arc::new(Built {
            page: value,
            tests: tests.to_string(),
        });
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Entries of an older store state are stale for good.
        cache.retain(|k, _| k.2 == stamp);
        cache.insert(key, built.clone());
        Ok(built)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn html(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn json(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn index(State(state): State<Shared>, Query(sel): Query<Selector>) -> Response {
    match blocking(&state, move |s| s.built(&sel)).await {
        Ok(built) => html(tollgate_report::html::render_value(
            &built.page,
            tollgate_report::html::Mode::Dashboard,
        )),
        Err(f) => f.into_response(),
    }
}

async fn api_report(State(state): State<Shared>, Query(sel): Query<Selector>) -> Response {
    match blocking(&state, move |s| s.built(&sel)).await {
        Ok(built) => json(built.page.to_string()),
        Err(f) => f.into_response(),
    }
}

async fn api_tests(State(state): State<Shared>, Query(sel): Query<Selector>) -> Response {
    match blocking(&state, move |s| s.built(&sel)).await {
        Ok(built) => json(built.tests.clone()),
        Err(f) => f.into_response(),
    }
}

fn recent_runs(s: &AppState, sel: &Selector) -> Result<serde_json::Value, Failure> {
    let runs = s
        .store()
        .recent_runs(sel.pipeline.as_deref(), sel.limit.unwrap_or(100).min(1000))
        .map_err(store_failure)?;
    let mut value = serde_json::to_value(&runs).unwrap_or_default();
    tollgate_report::redact_value(&mut value, &*s.options.redact);
    Ok(value)
}

async fn api_runs(State(state): State<Shared>, Query(sel): Query<Selector>) -> Response {
    match blocking(&state, move |s| recent_runs(s, &sel)).await {
        Ok(v) => json(v.to_string()),
        Err(f) => f.into_response(),
    }
}

async fn runs_page(State(state): State<Shared>, Query(sel): Query<Selector>) -> Response {
    match blocking(&state, move |s| {
        let runs = recent_runs(s, &sel)?;
        Ok(pages::runs_page(&s.options.title, &runs))
    })
    .await
    {
        Ok(body) => html(body),
        Err(f) => f.into_response(),
    }
}

fn metrics_text(s: &AppState) -> Result<String, Failure> {
    let mut store = s.store();
    let stamp = store.stamp().map_err(store_failure)?;
    let mut cached = s
        .metrics
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((at, text)) = cached.as_ref() {
        if *at == stamp {
            return Ok(text.clone());
        }
    }
    let now = now_ms();
    let mut pipelines = Vec::new();
    for (pipeline, runs) in store.run_counts_by_pipeline().map_err(store_failure)? {
        let latest = tollgate_report::gather(
            &mut store,
            &GatherOptions {
                run: None,
                pipeline: Some(pipeline.clone()),
                runs: 1,
                base_branch: None,
                include_tests: false,
                title: String::new(),
                now_ms: now,
                flaky_since_ms: now.saturating_sub(s.options.flaky_window_ms),
            },
        )
        .map_err(|e| match e {
            GatherError::Store(e) => store_failure(e),
            other => Failure(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        })?;
        pipelines.push(PipelineMetrics {
            pipeline,
            runs,
            latest,
        });
    }
    drop(store);
    let text = tollgate_report::metrics::render(
        &pipelines,
        &s.options.components,
        s.options.quarantine,
        s.options.top_k,
    );
    let text = s.redact(text);
    *cached = Some((stamp, text.clone()));
    Ok(text)
}

async fn metrics(State(state): State<Shared>) -> Response {
    match blocking(&state, metrics_text).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(f) => f.into_response(),
    }
}
