//! Emitters: a [`Plan`](crate::Plan) in, a `String` out. No I/O.

mod github;
mod gitlab;
mod human;

pub use github::{github, GithubOutput};
pub use gitlab::gitlab;
pub use human::human;

/// The plan as pretty JSON (see [`crate::Plan`] for the shape).
pub fn json(plan: &crate::Plan) -> String {
    // Serializing plain data with string keys cannot fail.
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_default();
    text.push('\n');
    text
}

/// A job's commands as one shell script (stops at the first failure).
pub(crate) fn script(commands: &[String]) -> String {
    match commands {
        [] => "true".to_string(),
        [one] => one.clone(),
        many => format!("set -e\n{}", many.join("\n")),
    }
}
