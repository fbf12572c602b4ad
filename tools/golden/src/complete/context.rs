//! What the words typed before the one being completed say: the remote of the
//! names already given and `--project`, read by the tool's own parser.

use std::ffi::OsString;

use clap::Command;

use crate::name::{check_project_name, split_remote};

/// The command line around the value being completed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Context {
    /// The remote of the first name given with a `REMOTE:` (its projects,
    /// pools, members and aliases are the ones the command will use).
    pub remote: Option<String>,
    /// `--project`.
    pub project: Option<String>,
    /// The positional values given (names).
    pub names: Vec<String>,
}

/// The context of this completion, from the words the shell passed (after
/// `--`), the one being completed left out (the shells' scripts say which in
/// `_CLAP_COMPLETE_INDEX`; fish passes it last).
pub(super) fn read() -> Context {
    let Some(cmd) = super::COMMAND.get() else {
        return Context::default();
    };
    let mut words: Vec<OsString> = std::env::args_os()
        .skip(1)
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse().ok())
        .unwrap_or(words.len().saturating_sub(1));
    if index < words.len() {
        words.remove(index);
    }
    of_words(cmd, words)
}

/// The context `words` (the command's name first) give, parsed by `cmd`
/// leniently: a line still being typed is rarely complete.
pub(super) fn of_words(cmd: &Command, words: Vec<OsString>) -> Context {
    let Ok(m) = cmd.clone().ignore_errors(true).try_get_matches_from(words) else {
        return Context::default();
    };
    let text = |v: &std::ffi::OsStr| v.to_str().map(str::to_string);
    let project = m
        .try_get_raw("project")
        .ok()
        .flatten()
        .and_then(|mut v| v.next_back())
        .and_then(text)
        .filter(|p| check_project_name(p).is_ok());
    let names: Vec<String> = cmd
        .get_positionals()
        .filter_map(|a| m.try_get_raw(a.get_id().as_str()).ok().flatten())
        .flat_map(|v| v.filter_map(text))
        .collect();
    let remote = names
        .iter()
        .find_map(|n| split_remote(n).ok().and_then(|(r, _)| r));
    Context {
        remote,
        project,
        names,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn cmd() -> Command {
        Command::new("golden-derive")
            .arg(Arg::new("template"))
            .arg(Arg::new("new").action(ArgAction::Append))
            .arg(Arg::new("project").short('p').long("project"))
            .arg(Arg::new("alias").long("alias").required(true))
            .arg(Arg::new("count").long("count").requires("alias"))
    }

    fn of(words: &[&str]) -> Context {
        of_words(&cmd(), words.iter().map(OsString::from).collect())
    }

    #[test]
    fn the_project_in_every_spelling() {
        for words in [
            &["golden-derive", "--project", "lab"][..],
            &["golden-derive", "--project=lab"],
            &["golden-derive", "-p", "lab"],
            &["golden-derive", "-plab", "tpl"],
        ] {
            assert_eq!(of(words).project.as_deref(), Some("lab"), "{words:?}");
        }
    }

    #[test]
    fn the_remote_of_the_names_given() {
        let c = of(&["golden-derive", "lab:tpl", "--project", "p", "new-1"]);
        assert_eq!(c.remote.as_deref(), Some("lab"));
        assert_eq!(c.names, ["lab:tpl", "new-1"]);
        assert_eq!(of(&["golden-derive", "tpl"]).remote, None);
    }

    #[test]
    fn a_line_still_being_typed_still_says_what_it_can() {
        // A missing required option, an unknown one, a value not given yet
        // (what follows an unknown option is not read).
        let c = of(&["golden-derive", "-p", "lab", "--bogus", "--count"]);
        assert_eq!(c.project.as_deref(), Some("lab"));
        let c = of(&["golden-derive", "tpl", "-p", "lab", "--count"]);
        assert_eq!(c.project.as_deref(), Some("lab"));
        assert_eq!(of(&["golden-derive", "--project"]), Context::default());
        // A project name Incus could not have is no context.
        assert_eq!(of(&["golden-derive", "-p", "a/b"]).project, None);
    }
}
