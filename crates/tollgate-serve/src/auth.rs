//! Who may read the dashboard: a bearer token or basic-auth credentials,
//! from the environment only (a command line shows in `ps`).

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::Shared;

/// Bearer token for `tollgate serve`.
pub const TOKEN_ENV: &str = "TOLLGATE_SERVE_TOKEN";
/// `user:password` for basic auth.
pub const BASIC_ENV: &str = "TOLLGATE_SERVE_BASIC";

#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Bearer(String),
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        match self {
            Auth::Bearer(_) => f.write_str("Auth::Bearer(..)"),
            Auth::Basic { user, .. } => write!(f, "Auth::Basic({user}, ..)"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("{0} is set but empty")]
    Empty(&'static str),
    #[error("{BASIC_ENV} must be `user:password`")]
    BadBasic,
    #[error("set only one of {TOKEN_ENV} and {BASIC_ENV}")]
    Both,
}

impl Auth {
    /// Reads the credentials from `get` (the process environment in the CLI).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Auth>, AuthError> {
        let token = get(TOKEN_ENV);
        let basic = get(BASIC_ENV);
        match (token, basic) {
            (Some(_), Some(_)) => Err(AuthError::Both),
            (Some(t), None) if t.is_empty() => Err(AuthError::Empty(TOKEN_ENV)),
            (Some(t), None) => Ok(Some(Auth::Bearer(t))),
            (None, Some(b)) if b.is_empty() => Err(AuthError::Empty(BASIC_ENV)),
            (None, Some(b)) => match b.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    Ok(Some(Auth::Basic {
                        user: user.to_string(),
                        password: password.to_string(),
                    }))
                }
                _ => Err(AuthError::BadBasic),
            },
            (None, None) => Ok(None),
        }
    }

    /// Whether an `Authorization` header value carries these credentials.
    pub fn accepts(&self, header: Option<&str>) -> bool {
        let Some(header) = header else { return false };
        match self {
            Auth::Bearer(token) => header
                .strip_prefix("Bearer ")
                .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes())),
            Auth::Basic { user, password } => header
                .strip_prefix("Basic ")
                .and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                })
                .is_some_and(|given| same(&given, format!("{user}:{password}").as_bytes())),
        }
    }

    fn challenge(&self) -> &'static str {
        match self {
            Auth::Bearer(_) => "Bearer realm=\"tollgate\"",
            Auth::Basic { .. } => "Basic realm=\"tollgate\", charset=\"UTF-8\"",
        }
    }
}

/// Constant-time comparison (the time does not depend on where they differ).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) async fn require(State(state): State<Shared>, request: Request, next: Next) -> Response {
    if let Some(auth) = &state.options.auth {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !auth.accepts(given) {
            return (
                StatusCode::UNAUTHORIZED,
                [
                    (header::WWW_AUTHENTICATE, auth.challenge()),
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                ],
                "authentication required\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn reads_credentials_from_the_environment() {
        assert_eq!(Auth::from_env(env(&[])), Ok(None));
        assert_eq!(
            Auth::from_env(env(&[(TOKEN_ENV, "s3cret-token")])),
            Ok(Some(Auth::Bearer("s3cret-token".into())))
        );
        assert_eq!(
            Auth::from_env(env(&[(BASIC_ENV, "ann:pw:x")])),
            Ok(Some(Auth::Basic {
                user: "ann".into(),
                password: "pw:x".into()
            }))
        );
        assert_eq!(
            Auth::from_env(env(&[(BASIC_ENV, "ann")])),
            Err(AuthError::BadBasic)
        );
        assert_eq!(
            Auth::from_env(env(&[(TOKEN_ENV, "")])),
            Err(AuthError::Empty(TOKEN_ENV))
        );
        assert_eq!(
            Auth::from_env(env(&[(TOKEN_ENV, "a"), (BASIC_ENV, "a:b")])),
            Err(AuthError::Both)
        );
    }

    #[test]
    fn accepts_only_the_configured_credentials() {
        let bearer = Auth::Bearer("tok".into());
        assert!(bearer.accepts(Some("Bearer tok")));
        assert!(!bearer.accepts(Some("Bearer tok2")));
        assert!(!bearer.accepts(Some("Basic tok")));
        assert!(!bearer.accepts(None));
        let basic = Auth::Basic {
            user: "ann".into(),
            password: "pw".into(),
        };
        // base64("ann:pw") = "YW5uOnB3"
        assert!(basic.accepts(Some("Basic YW5uOnB3")));
        assert!(!basic.accepts(Some("Basic YW5uOnB4")));
        assert!(!basic.accepts(Some("Bearer ann:pw")));
        assert!(!format!("{bearer:?}").contains("tok"));
    }
}
