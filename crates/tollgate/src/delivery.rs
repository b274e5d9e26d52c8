//! Sending a triaged run's alerts (shared by `tollgate notify` and
//! `tollgate gate`): the pure plan of `tollgate-notify` per channel, claims
//! and alert states in the store (so shards of one run send once and runs
//! do not repeat each other), delivery at the edge.

use tollgate_config::Notify;
use tollgate_notify::{
    render, send, AlertState, CheckFailure, Kind, Message, Plan, Policy, RunRef,
};
use tollgate_store::{AlertRow, Store};

use crate::failures::RunTriage;
use crate::project::Project;

/// What happened on each channel.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Human lines: sent, skipped, held.
    pub lines: Vec<String>,
    /// Delivery errors (a server unreachable, an HTTP error).
    pub errors: Vec<String>,
}

/// Whether `[notify]` names any channel.
pub fn configured(notify: &Notify) -> bool {
    !notify.webhook.is_empty() || notify.email.is_some() || notify.github_issue.is_some()
}

pub fn policy(notify: &Notify) -> Policy {
    Policy {
        repeat_ms: notify
            .dedup
            .as_ref()
            .map_or(24 * 3600 * 1000, |d| d.duration.as_millis() as i64),
        confirm_runs: notify.confirm_runs.unwrap_or(1).max(1),
        gated_branches: if notify.gated_branches.is_empty() {
            vec!["main".into(), "release/*".into()]
        } else {
            notify.gated_branches.clone()
        },
        resolve: notify.resolve.unwrap_or(true),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn states(store: &mut Store, channel: &str) -> anyhow::Result<Vec<AlertState>> {
    Ok(store
        .notify_alerts(channel)?
        .into_iter()
        .map(|r| AlertState {
            alert: r.alert,
            owner: r.owner,
            pipeline: r.pipeline,
            branch: r.branch,
            status: r.status,
            last_sent_ms: r.last_sent_at_ms,
            last_run_key: r.last_run_key,
            summary: r.summary,
        })
        .collect())
}

fn record(
    store: &mut Store,
    channel: &str,
    m: &Message,
    now: i64,
    issue: Option<(u64, bool)>,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let existing = store.notify_alerts(channel)?;
    for item in m.items.iter().filter(|i| only.is_none_or(|a| a == i.alert)) {
        let old = existing.iter().find(|r| r.alert == item.alert);
        store.notify_record(&AlertRow {
            channel: channel.to_string(),
            alert: item.alert.clone(),
            owner: m.owner.clone(),
            pipeline: m.run.pipeline.clone(),
            branch: m.run.branch.clone(),
            status: match m.kind {
                Kind::Firing => "firing".into(),
                Kind::Resolved => "resolved".into(),
            },
            first_run_key: old.map_or_else(|| m.run.run_key.clone(), |o| o.first_run_key.clone()),
            last_run_key: m.run.run_key.clone(),
            last_sent_at_ms: now,
            summary: item.signature.clone(),
            issue_number: issue.map(|(n, _)| n as i64),
            reopened: issue.map_or(old.is_some_and(|o| o.reopened), |(_, r)| r),
        })?;
    }
    Ok(())
}

/// Plans and (unless `dry_run`) sends the alerts of a triaged run and of
/// the gate checks it failed (`None`: no gate verdict known) on every
/// configured channel. Store errors are returned; delivery errors are
/// collected in the outcome.
pub fn deliver(
    project: &Project,
    store: &mut Store,
    triage: &RunTriage,
    checks: Option<&[CheckFailure]>,
    now: i64,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    let notify = &project.config.notify;
    let policy = policy(notify);
    let redactor = crate::failures::redactor(project)?;
    let redact = |s: &str| redactor.redact(s).into_owned();
    let run = RunRef {
        run_key: triage.run_key.clone(),
        pipeline: triage.pipeline.clone(),
        branch: triage.branch.clone(),
        commit: triage.commit.clone(),
    };
    let clusters: Vec<_> = triage.clusters.iter().map(|c| c.cluster.clone()).collect();
    let streaks = crate::failures::streaks(triage);
    let mut out = Outcome::default();
    let plan_for = |store: &mut Store, channel: &str| -> anyhow::Result<Plan> {
        let states = states(store, channel)?;
        Ok(tollgate_notify::plan_all(
            &run, &clusters, checks, &streaks, &states, now, &policy,
        ))
    };
    let held = |out: &mut Outcome, channel: &str, plan: &Plan| {
        for h in &plan.held {
            out.lines.push(format!(
                "{channel}: held {} for {}: {}",
                h.signature, h.owner, h.why
            ));
        }
    };

    for (i, hook) in notify.webhook.iter().enumerate() {
        let channel = format!(
            "webhook{}",
            if i == 0 {
                String::new()
            } else {
                format!("-{i}")
            }
        );
        let url = match (&hook.url, &hook.url_env) {
            (Some(u), _) => u.clone(),
            (None, Some(var)) => match env(var) {
                Some(u) => u,
                None => {
                    out.lines
                        .push(format!("{channel}: skipped, ${var} is not set"));
                    continue;
                }
            },
            (None, None) => continue,
        };
        let plan = plan_for(store, &channel)?;
        held(&mut out, &channel, &plan);
        for m in &plan.messages {
            let payload = render::slack(m, &redact);
            if dry_run {
                out.lines.push(format!(
                    "{channel}: would send to {}:\n{}",
                    send::url_for_humans(&url),
                    redact(&serde_json::to_string_pretty(&payload)?)
                ));
                continue;
            }
            let claim = m.claim_key();
            if !store.notify_claim(&channel, &run.run_key, &claim, now)? {
                out.lines.push(format!(
                    "{channel}: {} already sent for run {}",
                    claim, run.run_key
                ));
                continue;
            }
            let text = redact(&payload.to_string());
            let payload: serde_json::Value = serde_json::from_str(&text)?;
            match send::webhook(&url, &payload) {
                Ok(()) => {
                    record(store, &channel, m, now, None, None)?;
                    out.lines.push(format!(
                        "{channel}: sent {} ({} cluster(s))",
                        claim,
                        m.items.len()
                    ));
                }
                Err(e) => {
                    store.notify_release(&channel, &run.run_key, &claim)?;
                    out.errors.push(e.to_string());
                }
            }
        }
    }

    if let Some(mail) = &notify.email {
        let channel = "email";
        match env(&mail.smtp_url_env) {
            None => out.lines.push(format!(
                "{channel}: skipped, ${} is not set",
                mail.smtp_url_env
            )),
            Some(smtp) => {
                let plan = plan_for(store, channel)?;
                held(&mut out, channel, &plan);
                for m in &plan.messages {
                    let (subject, body) = render::email(m, &redact);
                    let mut to = mail.to.clone();
                    if let Some(addr) = project
                        .config
                        .owners
                        .contacts
                        .get(&m.owner)
                        .and_then(|c| c.email.clone())
                    {
                        if !to.contains(&addr) {
                            to.push(addr);
                        }
                    }
                    if dry_run {
                        out.lines.push(format!(
                            "{channel}: would send to {}:\nSubject: {subject}\n\n{body}",
                            to.join(", ")
                        ));
                        continue;
                    }
                    let claim = m.claim_key();
                    if !store.notify_claim(channel, &run.run_key, &claim, now)? {
                        out.lines.push(format!(
                            "{channel}: {claim} already sent for run {}",
                            run.run_key
                        ));
                        continue;
                    }
                    match send::email(&smtp, &mail.from, &to, &redact(&subject), &redact(&body)) {
                        Ok(()) => {
                            record(store, channel, m, now, None, None)?;
                            out.lines
                                .push(format!("{channel}: sent {claim} to {}", to.join(", ")));
                        }
                        Err(e) => {
                            store.notify_release(channel, &run.run_key, &claim)?;
                            out.errors.push(e.to_string());
                        }
                    }
                }
            }
        }
    }

    if let Some(gh) = &notify.github_issue {
        let channel = "github";
        match env(&gh.token_env) {
            None => out
                .lines
                .push(format!("{channel}: skipped, ${} is not set", gh.token_env)),
            Some(token) => {
                let api = gh
                    .api_url
                    .clone()
                    .unwrap_or_else(|| "https://api.github.com".into());
                let client = send::Github::new(&api, &gh.repo, &token);
                let plan = plan_for(store, channel)?;
                held(&mut out, channel, &plan);
                let known = store.notify_alerts(channel)?;
                for m in &plan.messages {
                    for item in &m.items {
                        if dry_run {
                            let (title, body) = render::issue(item, m, &redact);
                            out.lines.push(format!(
                                "{channel}: would file or comment on {}:\n{title}\n\n{body}",
                                gh.repo
                            ));
                            continue;
                        }
                        if !store.notify_claim(channel, &run.run_key, &item.alert, now)? {
                            out.lines.push(format!(
                                "{channel}: {} already handled for run {}",
                                item.alert, run.run_key
                            ));
                            continue;
                        }
                        let old = known.iter().find(|r| r.alert == item.alert);
                        match github_one(&client, gh, m, item, old, &redact) {
                            Ok((number, reopened, what)) => {
                                record(
                                    store,
                                    channel,
                                    m,
                                    now,
                                    Some((number, reopened)),
                                    Some(&item.alert),
                                )?;
                                out.lines.push(format!("{channel}: {what} #{number}"));
                            }
                            Err(e) => {
                                store.notify_release(channel, &run.run_key, &item.alert)?;
                                out.errors.push(e.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Files, comments on, closes or reopens the issue of one alert. Returns
/// the issue number, whether tollgate has reopened it, and what was done.
///
/// No close/reopen loop: a resolve comments and closes the issue, unless
/// tollgate reopened it before (a flapping cluster): then it only comments
/// and leaves the issue to a person. A failure again reopens a closed issue
/// once; after that, closed by tollgate or a person, it only gets comments.
/// So tollgate changes an issue's state at most twice.
fn github_one(
    client: &send::Github,
    gh: &tollgate_config::GithubIssue,
    m: &Message,
    item: &tollgate_notify::Item,
    old: Option<&AlertRow>,
    redact: &dyn Fn(&str) -> String,
) -> Result<(u64, bool, &'static str), send::SendError> {
    let found = client.find(&item.alert, gh.labels.first().map(String::as_str))?;
    let was_reopened = old.is_some_and(|o| o.reopened);
    match found {
        None if m.kind == Kind::Resolved => Ok((0, was_reopened, "nothing to resolve on")),
        None => {
            let (title, body) = render::issue(item, m, redact);
            let n = client.create(&redact(&title), &redact(&body), &gh.labels)?;
            Ok((n, false, "filed"))
        }
        Some(issue) => {
            client.comment(issue.number, &redact(&render::comment(item, m, redact)))?;
            match m.kind {
                Kind::Resolved if issue.open && !was_reopened => {
                    client.set_state(issue.number, false)?;
                    Ok((issue.number, false, "commented on and closed"))
                }
                Kind::Firing if !issue.open && !was_reopened => {
                    client.set_state(issue.number, true)?;
                    Ok((issue.number, true, "reopened and commented on"))
                }
                _ => Ok((issue.number, was_reopened, "commented on")),
            }
        }
    }
}
