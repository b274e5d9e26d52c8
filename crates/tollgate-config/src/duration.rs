//! Durations as people write them in a config file: `"15s"`, `"5m"`, `"1h30m"`,
//! `"250ms"`, or a bare integer number of seconds.
//!
//! Parsing happens inside `Deserialize`, so a malformed duration is reported
//! by the TOML deserializer with the span of the offending value.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// A duration written in `tollgate.toml`. Keeps the text it was written as so
/// that listings and error messages echo the user's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationSpec {
    pub duration: Duration,
    pub text: String,
}

impl DurationSpec {
    pub fn as_secs_f64(&self) -> f64 {
        self.duration.as_secs_f64()
    }
}

impl fmt::Display for DurationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a duration string is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {reason} (write e.g. \"15s\", \"5m\", \"1h30m\", \"250ms\")")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses `<number><unit>` groups; units `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err("expected a number"));
        }
        let (number, after) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| err("number too large"))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(err(
                "expected a unit (ms, s, m, h or d) right after the number",
            ));
        }
        let (unit, after_unit) = after.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            "d" => Duration::from_secs(value.saturating_mul(86_400)),
            _ => return Err(err("unknown unit (use ms, s, m, h or d)")),
        };
        total = total.saturating_add(part);
        rest = after_unit;
    }
    Ok(total)
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = DurationSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"15s\" or \"5m\", or a number of seconds")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationSpec, E> {
                let secs =
                    u64::try_from(v).map_err(|_| E::custom("a duration cannot be negative"))?;
                Ok(DurationSpec {
                    duration: Duration::from_secs(secs),
                    text: format!("{secs}s"),
                })
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationSpec, E> {
                let duration = parse_duration(v).map_err(E::custom)?;
                Ok(DurationSpec {
                    duration,
                    text: v.to_string(),
                })
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

impl Serialize for DurationSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in ["", "s", "15", "15 parsecs", "1.5h", "-3s", "5x"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
