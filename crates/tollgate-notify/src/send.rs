//! Delivery at the edge: HTTP (ureq, rustls) and SMTP (lettre, rustls).
//! Every call has a timeout; an unreachable server is an error, never a hang.

use std::time::Duration;

use serde_json::{json, Value};

use crate::FINGERPRINT_PREFIX;

/// A delivery that failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{service}: cannot reach {target}: {message}")]
    Unreachable {
        service: &'static str,
        target: String,
        message: String,
    },
    #[error("{service}: {target} answered HTTP {status}: {body}")]
    Status {
        service: &'static str,
        target: String,
        status: u16,
        body: String,
    },
    #[error("e-mail: {0}")]
    Email(String),
    #[error("{service}: unexpected answer from {target}: {message}")]
    Answer {
        service: &'static str,
        target: String,
        message: String,
    },
}

const TIMEOUT: Duration = Duration::from_secs(15);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .user_agent("tollgate")
        .build()
        .into()
}

/// Hides the path and query of a URL (webhook URLs are secrets).
pub fn url_for_humans(url: &str) -> String {
    match url.find("://") {
        Some(scheme) => {
            let rest = &url[scheme + 3..];
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{}://{host}/…", &url[..scheme])
        }
        None => "(webhook)".to_string(),
    }
}

fn answer(
    service: &'static str,
    target: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String), SendError> {
    let response = result.map_err(|e| SendError::Unreachable {
        service,
        target: target.to_string(),
        message: e.to_string(),
    })?;
    let status = response.status().as_u16();
    let body = response.into_body().read_to_string().unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(SendError::Status {
            service,
            target: target.to_string(),
            status,
            body: crate::render::cut(&body, 300),
        });
    }
    Ok((status, body))
}

/// Posts a Slack-compatible payload.
pub fn webhook(url: &str, payload: &Value) -> Result<(), SendError> {
    let target = url_for_humans(url);
    let body = payload.to_string();
    answer(
        "webhook",
        &target,
        agent()
            .post(url)
            .content_type("application/json")
            .send(body.as_bytes()),
    )
    .map(|_| ())
}

/// Sends a plain-text e-mail. `smtp_url`: `smtp://user:pass@host:587?tls=required`
/// (STARTTLS), `smtps://...` (TLS) or `smtp://host:port` (plain, local relays).
pub fn email(
    smtp_url: &str,
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
) -> Result<(), SendError> {
    use lettre::message::header::ContentType;
    use lettre::{Message, SmtpTransport, Transport};

    let mut builder = Message::builder()
        .from(
            from.parse()
                .map_err(|e| SendError::Email(format!("from address `{from}`: {e}")))?,
        )
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for t in to {
        builder = builder.to(t
            .parse()
            .map_err(|e| SendError::Email(format!("address `{t}`: {e}")))?);
    }
    let message = builder
        .body(body.to_string())
        .map_err(|e| SendError::Email(e.to_string()))?;
    let transport = SmtpTransport::from_url(smtp_url)
        .map_err(|e| SendError::Email(format!("SMTP URL: {e}")))?
        .timeout(Some(TIMEOUT))
        .build();
    transport
        .send(&message)
        .map_err(|e| SendError::Unreachable {
            service: "e-mail",
            target: url_for_humans(smtp_url),
            message: e.to_string(),
        })?;
    Ok(())
}

/// A GitHub issue as tollgate needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub number: u64,
    pub open: bool,
}

/// The GitHub issues REST API of one repository.
pub struct Github {
    pub api: String,
    pub repo: String,
    token: String,
    agent: ureq::Agent,
}

impl Github {
    pub fn new(api: &str, repo: &str, token: &str) -> Github {
        Github {
            api: api.trim_end_matches('/').to_string(),
            repo: repo.to_string(),
            token: token.to_string(),
            agent: agent(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/repos/{}{path}", self.api, self.repo)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, SendError> {
        let url = self.url(path);
        let target = format!("{}/repos/{}", self.api, self.repo);
        let auth = format!("Bearer {}", self.token);
        let result = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Authorization", &auth)
                .header("Accept", "application/vnd.github+json")
                .call(),
            (m, body) => {
                let req = match m {
                    "PATCH" => self.agent.patch(&url),
                    _ => self.agent.post(&url),
                };
                req.header("Authorization", &auth)
                    .header("Accept", "application/vnd.github+json")
                    .content_type("application/json")
                    .send(body.map_or_else(String::new, Value::to_string).as_bytes())
            }
        };
        let (_, text) = answer("github", &target, result)?;
        serde_json::from_str(&text).map_err(|e| SendError::Answer {
            service: "github",
            target,
            message: e.to_string(),
        })
    }

    /// Finds the issue whose body has the exact line `tollgate-fingerprint: FP`,
    /// listing the repository's issues (open and closed, with `label` if
    /// given) page by page — the list API, not search, which lags.
    pub fn find(&self, fingerprint: &str, label: Option<&str>) -> Result<Option<Issue>, SendError> {
        let line = format!("{FINGERPRINT_PREFIX}{fingerprint}");
        for page in 1..=50 {
            let labels = label
                .map(|l| format!("&labels={}", encode(l)))
                .unwrap_or_default();
            let list = self.call(
                "GET",
                &format!("/issues?state=all&per_page=100&page={page}{labels}"),
                None,
            )?;
            let Some(items) = list.as_array() else {
                return Err(SendError::Answer {
                    service: "github",
                    target: self.url("/issues"),
                    message: "the issues list is not a JSON array".into(),
                });
            };
            for issue in items {
                if issue.get("pull_request").is_some() {
                    continue;
                }
                let body = issue.get("body").and_then(Value::as_str).unwrap_or("");
                if body.lines().any(|l| l.trim_end() == line) {
                    return Ok(Some(Issue {
                        number: issue.get("number").and_then(Value::as_u64).unwrap_or(0),
                        open: issue.get("state").and_then(Value::as_str) == Some("open"),
                    }));
                }
            }
            if items.len() < 100 {
                break;
            }
        }
        Ok(None)
    }

    pub fn create(&self, title: &str, body: &str, labels: &[String]) -> Result<u64, SendError> {
        let created = self.call(
            "POST",
            "/issues",
            Some(&json!({"title": title, "body": body, "labels": labels})),
        )?;
        created
            .get("number")
            .and_then(Value::as_u64)
            .ok_or_else(|| SendError::Answer {
                service: "github",
                target: self.url("/issues"),
                message: "the created issue has no number".into(),
            })
    }

    pub fn comment(&self, number: u64, body: &str) -> Result<(), SendError> {
        self.call(
            "POST",
            &format!("/issues/{number}/comments"),
            Some(&json!({"body": body})),
        )
        .map(|_| ())
    }

    /// Opens (`true`) or closes (`false`) an issue.
    pub fn set_state(&self, number: u64, open: bool) -> Result<(), SendError> {
        let state = if open { "open" } else { "closed" };
        self.call(
            "PATCH",
            &format!("/issues/{number}"),
            Some(&json!({"state": state})),
        )
        .map(|_| ())
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_shown_without_their_secret_path() {
        assert_eq!(
            url_for_humans("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            url_for_humans("smtp://u:p@mail:587?tls=required"),
            "smtp://mail:587/…"
        );
    }
}
