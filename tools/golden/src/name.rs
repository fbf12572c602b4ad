//! Names: Incus instance names, projects, and the `remote:NAME` form.

use crate::error::{Error, Result};

/// Longest instance name Incus accepts (it must be a valid host name).
pub const MAX_INSTANCE_NAME: usize = 63;

/// Checks a name the way Incus does for instances (`validate.IsHostname`): 1 to
/// 63 ASCII letters, digits and dashes, neither starting nor ending with a dash,
/// and not a number (`1web` is a name, `12345` is not). Checking here lets a bulk
/// call refuse every bad name before it creates anything, and whatever golden-ls
/// lists, the other tools accept.
pub fn check_instance_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::usage(format!(
            "invalid instance name {:?}: {why}",
            shown(name)
        )))
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_INSTANCE_NAME {
        return bad("longer than 63 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return bad(&format!(
            "{c:?} is not allowed (only ASCII letters, digits and '-')"
        ));
    }
    if name.starts_with('-') {
        return bad("must not start with '-'");
    }
    // Incus's own test: whatever parses as an unsigned 64-bit number.
    if name.parse::<u64>().is_ok() {
        return bad("must not be a number");
    }
    if name.ends_with('-') {
        return bad("must not end with '-'");
    }
    Ok(())
}

/// Input as an error message shows it: whole if short, else its start and its
/// length, so a 5 MB line does not come back whole on stderr.
pub fn shown(text: &str) -> String {
    const MAX: usize = 80;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// Checks a project name: Incus forbids '/' and names that could be options or paths.
pub fn check_project_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name != "."
        && name != ".."
        && !name.chars().any(|c| {
            c == '/' || c == '?' || c == '&' || c == '#' || c.is_whitespace() || c.is_control()
        });
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid project name {:?}",
            shown(name)
        )))
    }
}

/// Checks a remote name as the incus client stores them.
pub fn check_remote_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid remote name {name:?}")))
    }
}

/// An instance as the user names it: `NAME` or `REMOTE:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceRef {
    pub remote: Option<String>,
    pub name: String,
}

impl InstanceRef {
    /// Parses and checks `[REMOTE:]NAME`.
    pub fn parse(text: &str) -> Result<Self> {
        let (remote, name) = split_remote(text)?;
        check_instance_name(name)?;
        Ok(InstanceRef {
            remote,
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.remote {
            Some(r) => write!(f, "{r}:{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Splits `REMOTE:REST` into its parts; a text without ':' has no remote.
pub fn split_remote(text: &str) -> Result<(Option<String>, &str)> {
    match text.split_once(':') {
        Some((remote, rest)) => {
            check_remote_name(remote)?;
            Ok((Some(remote.to_string()), rest))
        }
        None => Ok((None, text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_in_messages() {
        assert_eq!(shown("web"), "web");
        let long = "é".repeat(3_000_000);
        let s = shown(&long);
        assert!(s.len() < 120 && s.ends_with("... (6000000 bytes)"), "{s}");
        let e = check_instance_name(&long).unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn good_instance_names_pass() {
        let long_number = "9".repeat(21); // past u64: Incus takes it as a name
        for n in [
            "a",
            "lab-student-20",
            "pro-dev",
            "A1",
            "1web",
            "0-1",
            &long_number,
            &"x".repeat(63),
        ] {
            assert!(check_instance_name(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn each_bad_instance_name_gets_a_usage_error_naming_it() {
        let cases = [
            ("", "empty"),
            ("-rf", "must not start with '-'"),
            ("a/b", "'/'"),
            ("..", "'.'"),
            ("a b", "' '"),
            ("élève", "'é'"),
            ("123", "must not be a number"),
            ("0000", "must not be a number"),
            ("abc-", "end with '-'"),
            ("a;touch", "';'"),
        ];
        for (name, why) in cases {
            let err = check_instance_name(name).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{name}");
            let msg = err.to_string();
            assert!(msg.contains(&format!("{name:?}")), "{msg}");
            assert!(msg.contains(why), "{name}: {msg}");
        }
        let long = "a".repeat(64);
        assert!(check_instance_name(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than 63"));
    }

    #[test]
    fn remote_prefix_is_split_and_checked() {
        let r = InstanceRef::parse("lo:pro-dev").unwrap();
        assert_eq!(r.remote.as_deref(), Some("lo"));
        assert_eq!(r.name, "pro-dev");
        assert_eq!(r.to_string(), "lo:pro-dev");
        assert_eq!(InstanceRef::parse("pro-dev").unwrap().remote, None);
        assert!(InstanceRef::parse("-x:pro").is_err());
        assert!(InstanceRef::parse("lo:").is_err());
    }

    #[test]
    fn project_names() {
        assert!(check_project_name("lab").is_ok());
        assert!(check_project_name("default").is_ok());
        for bad in ["", "-p", "a/b", "a b", "..", "a?b"] {
            assert!(check_project_name(bad).is_err(), "{bad}");
        }
    }
}
