//! What the user asked for, checked: an alias the incus client reads back as
//! one, an expiry as Incus wants it.

use std::time::SystemTime;

use golden::{Error, Result};

/// Incus takes most text as an alias; refuse what the incus client would read
/// as something else (an option, a remote) or what cannot be typed back.
pub fn check_alias(alias: &str) -> Result<()> {
    let bad = alias.is_empty()
        || alias.starts_with('-')
        || alias.contains(':')
        || alias.len() > 255
        || alias.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err(Error::usage(format!("invalid image alias {alias:?}")))
    } else {
        Ok(())
    }
}

/// `30d`, `12h` from now, or an RFC 3339 time with any offset (what
/// `date -Iseconds` prints), as Incus wants it: UTC, to the second.
pub fn parse_expiry(s: &str) -> Result<String> {
    if let Ok(d) = humantime::parse_duration(s) {
        let when = SystemTime::now() + d;
        return Ok(humantime::format_rfc3339_seconds(when).to_string());
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .map_err(|_| {
            Error::usage(format!(
                "--expires {s:?}: not a duration (30d) nor an RFC 3339 time (2027-01-31T00:00:00Z)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_that_incus_would_misread_are_refused() {
        for ok in ["golden-pro", "golden/pro-dev", "lab.v2"] {
            assert!(check_alias(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "remote:alias", "a b", "a\tb"] {
            assert_eq!(check_alias(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn expiry_is_a_duration_or_a_time() {
        let t = parse_expiry("2030-01-31T00:00:00Z").unwrap();
        assert_eq!(t, "2030-01-31T00:00:00Z");
        // `date -Iseconds` gives an offset: the same instant, in UTC.
        let t = parse_expiry("2030-01-31T00:00:00+02:00").unwrap();
        assert_eq!(t, "2030-01-30T22:00:00Z");
        assert_eq!(parse_expiry("2030-01-31").unwrap_err().exit_code(), 2);
        let in_a_day = parse_expiry("1d").unwrap();
        assert!(in_a_day > humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        assert_eq!(parse_expiry("soon").unwrap_err().exit_code(), 2);
    }
}
