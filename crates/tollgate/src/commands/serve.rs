//! `tollgate serve`: the read-only dashboard and `/metrics` over the store.

use std::net::SocketAddr;

use anyhow::Context;
use tollgate_serve::{check_bind, Auth, ServeOptions};

use crate::exit::{usage, Status};
use crate::health;
use crate::project::ConfigLocation;

pub const EXAMPLES: &str = "Examples:
  tollgate serve                                   http://127.0.0.1:8080 over [store] of tollgate.toml
  tollgate serve --store postgres://ci@db/tollgate --bind 127.0.0.1:9000
  TOLLGATE_SERVE_TOKEN=$(cat token) tollgate serve --bind 0.0.0.0:8080

Pages: / (the latest run's report; ?pipeline=P or ?run=KEY), /runs, /api/report, /api/tests, \
/api/runs, /metrics (OpenMetrics for Prometheus). Read-only. A non-loopback --bind needs \
TOLLGATE_SERVE_TOKEN (bearer token) or TOLLGATE_SERVE_BASIC (user:password) in the environment; \
then every request must carry it. Stops on Ctrl-C or SIGTERM. Exit codes: 0 stopped, 2 usage \
(including a non-loopback bind without credentials), 3 store or address unavailable.";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Runs of history per report page.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub runs: u32,

    /// Per-test series in /metrics: the K flakiest and the K slowest tests.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub top_k: usize,

    /// How far back flakiness is measured.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub flaky_window: String,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<Status> {
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        usage(format!(
            "invalid --bind {:?}: {e} (e.g. 127.0.0.1:8080)",
            args.bind
        ))
    })?;
    let auth = Auth::from_env(|name| std::env::var(name).ok()).map_err(|e| usage(e.to_string()))?;
    check_bind(addr, auth.as_ref()).map_err(|e| usage(e.to_string()))?;
    if args.runs == 0 {
        return Err(usage("--runs must be at least 1"));
    }
    let project = args.location.load()?;
    let options = ServeOptions {
        title: format!(
            "{} test health",
            project.config.project.name.as_deref().unwrap_or("tollgate")
        ),
        runs: args.runs,
        top_k: args.top_k,
        flaky_window_ms: health::window_ms("--flaky-window", &args.flaky_window)?,
        auth,
        redact: std::sync::Arc::new(health::redact_fn(health::redactor(&project)?)),
        components: health::components(&project)?,
        quarantine: health::quarantine_figures(&project)?,
    };
    let store = health::open_store(&project, args.store.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener
            .local_addr()
            .context("cannot read the bound address")?;
        eprintln!("tollgate serve: listening on http://{local}/ (read-only; Ctrl-C stops)");
        tollgate_serve::serve(listener, store, options, shutdown_signal())
            .await
            .context("the server stopped")
    })?;
    Ok(Status::Success)
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
    eprintln!("tollgate serve: stopping");
}
