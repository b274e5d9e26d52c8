//! `tollgate grafana-dashboard`: a Grafana dashboard over `tollgate serve`'s
//! (or `tollgate metrics`') Prometheus metrics.

use crate::exit::Status;
use crate::health;

pub const EXAMPLES: &str = "Examples:
  tollgate grafana-dashboard > board.json     then Dashboards → New → Import → Upload JSON file
  curl -X POST -H 'Content-Type: application/json' \\
       -d \"{\\\"dashboard\\\": $(tollgate grafana-dashboard), \\\"overwrite\\\": true}\" \\
       http://admin:admin@grafana:3000/api/dashboards/db

Panels: test health (failures, gate verdict and checks, failing components and owners), coverage \
per language and component, flakiness (rate, per component, top-K tests, quarantine), performance \
(job duration, top-K slowest tests, gate measurements), resources (CPU and peak memory per job). \
The Prometheus data source and the pipeline are dashboard variables.";

#[derive(Debug, clap::Args)]
pub struct GrafanaArgs {}

pub fn run(_args: &GrafanaArgs) -> anyhow::Result<Status> {
    let board = tollgate_report::grafana::dashboard();
    health::write_stdout(&(serde_json::to_string_pretty(&board)? + "\n"))?;
    Ok(Status::Success)
}
