//! What the user asked for, checked and in the form the later phases use
//! (they never see the command line itself).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use golden::record::{expand_template, Origin, Record};
use golden::{Error, Result};

use crate::args::{Args, Volumes};

/// Where in a cluster the user asked clones to go: beside their template,
/// on `--target MEMBER`, or `--spread` over the members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementChoice {
    Beside,
    Target(String),
    Spread,
}

/// `--ipv4`: an address, or `auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Choice {
    Fixed(Ipv4Addr),
    Auto,
}

impl Ipv4Choice {
    pub fn parse(s: &str) -> Result<Self> {
        if s == "auto" {
            return Ok(Ipv4Choice::Auto);
        }
        s.parse()
            .map(Ipv4Choice::Fixed)
            .map_err(|_| Error::usage(format!("--ipv4 {s:?}: not an IPv4 address nor `auto`")))
    }
}

/// The default `--name`: the template's name and a number.
pub const DEFAULT_NAME: &str = "{template}-{n}";

#[derive(Debug, Clone)]
pub struct Options {
    pub target_project: Option<String>,
    pub storage: Option<String>,
    /// Where in a cluster the clones go.
    pub placement: PlacementChoice,
    pub jobs: u16,
    pub start: bool,
    pub config: BTreeMap<String, String>,
    /// `None`: the template's profiles.
    pub profiles: Option<Vec<String>>,
    pub skip_existing: bool,
    pub ipv4: Option<Ipv4Choice>,
    pub dhcp: bool,
    pub volumes: Option<Volumes>,
    pub keep_identity: bool,
    pub allow_revoked: bool,
    /// `--generation`: copy that generation, not the current pristine.
    pub generation: Option<u64>,
    /// `--name`: how `--count` names clones.
    pub name: String,
    pub run: golden::cli::RunArgs,
}

impl Options {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(p) = &args.target_project {
            golden::name::check_project_name(p)?;
        }
        let name = args.name.clone().unwrap_or_else(|| DEFAULT_NAME.into());
        if let Some(n) = args.count {
            check_name_pattern(&name, n)?;
        }
        Ok(Options {
            target_project: args.target_project.clone(),
            storage: args.storage.clone(),
            placement: match (&args.target, args.spread) {
                (Some(m), _) => {
                    if m.is_empty()
                        || m.contains(['/', '?', '&', '#'])
                        || m.chars().any(char::is_whitespace)
                    {
                        return Err(Error::usage(format!("--target {m:?}: not a member name")));
                    }
                    PlacementChoice::Target(m.clone())
                }
                (None, true) => PlacementChoice::Spread,
                (None, false) => PlacementChoice::Beside,
            },
            jobs: args.jobs,
            start: args.start,
            config: parse_config(&args.config)?,
            profiles: (!args.profiles.is_empty()).then(|| args.profiles.clone()),
            skip_existing: args.skip_existing,
            ipv4: args.ipv4.as_deref().map(Ipv4Choice::parse).transpose()?,
            dhcp: args.dhcp,
            volumes: args.volumes,
            keep_identity: args.keep_identity,
            allow_revoked: args.allow_revoked,
            generation: args.generation,
            name,
            run: args.run.clone(),
        })
    }
}

/// The name of clone number `n` of `template` in `project`.
pub fn numbered_name(pattern: &str, template: &str, project: &str, n: usize) -> Result<String> {
    let mut r = Record::named(Origin::Argument, template);
    r.fields.insert("template".into(), template.into());
    r.fields.insert("project".into(), project.into());
    r.fields.insert("n".into(), n.to_string());
    let name = expand_template(pattern, &r).map_err(|e| e.context("--name"))?;
    golden::name::check_instance_name(&name)
        .map_err(|e| e.context(format!("--name {pattern:?} gives {name:?}")))?;
    Ok(name)
}

/// Checked before anything is asked of the daemon: the pattern's fields exist,
/// and several clones a template get several names.
fn check_name_pattern(pattern: &str, count: usize) -> Result<()> {
    if count == 0 {
        return Err(Error::usage("--count 0: nothing to derive"));
    }
    numbered_name(pattern, "t", "p", 1)?;
    if count > 1 && !pattern.contains("{n}") {
        return Err(Error::usage(format!(
            "--name {pattern:?} has no {{n}}: {count} clones of a template would get one name"
        )));
    }
    Ok(())
}

fn parse_config(items: &[String]) -> Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(Error::usage(format!("-c {kv:?}: expected KEY=VALUE"))),
        })
        .collect()
}

/// `golden-ls | xargs golden-derive` hands the header over as names: say what
/// happened and what works, rather than "invalid instance name".
pub fn refuse_header_as_arguments(args: &Args) -> Result<()> {
    let words: Vec<&str> = args
        .template
        .iter()
        .chain(args.new.iter())
        .map(String::as_str)
        .collect();
    // What xargs passes: the header's words first, then the rows' (any -o choice).
    let columns = golden::output::names(golden::model::GOLDEN_LS_COLUMNS);
    let leading = words.iter().take_while(|w| columns.contains(w)).count();
    if leading >= 2 {
        return Err(Error::usage(format!(
            "the arguments ({} ...) are golden-ls's header, not names: pipe the records \
             instead (`golden-ls | golden-derive --count 1`), or drop the header \
             (`golden-ls -H -o instance | xargs -n1 golden-derive --count 1`)",
            words[..leading.min(3)].join(" ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_pairs_need_a_key_and_an_equal_sign() {
        let c = parse_config(&[
            "user.owner=alice".into(),
            "limits.cpu=2".into(),
            "user.empty=".into(),
        ])
        .unwrap();
        assert_eq!(c["user.owner"], "alice");
        assert_eq!(c["user.empty"], "");
        for bad in ["novalue", "=x"] {
            assert_eq!(
                parse_config(&[bad.into()]).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }

    #[test]
    fn numbered_names_follow_the_pattern_and_are_checked() {
        assert_eq!(numbered_name(DEFAULT_NAME, "lab", "p", 3).unwrap(), "lab-3");
        assert_eq!(
            numbered_name("{project}-s{n}", "lab", "class", 12).unwrap(),
            "class-s12"
        );
        let e = numbered_name("{template}_{n}", "lab", "p", 1).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--name"), "{e}");
        assert_eq!(
            check_name_pattern("{nope}-{n}", 2).unwrap_err().exit_code(),
            2
        );
        assert_eq!(
            check_name_pattern("{template}", 2).unwrap_err().exit_code(),
            2
        );
        assert!(check_name_pattern("{template}-web", 1).is_ok());
        assert_eq!(
            check_name_pattern(DEFAULT_NAME, 0).unwrap_err().exit_code(),
            2
        );
    }

    #[test]
    fn a_golden_ls_header_as_arguments_is_named_as_such() {
        let args = <crate::args::Args as clap::Parser>::parse_from([
            "golden-derive",
            "project",
            "instance",
            "type",
            "status",
        ]);
        let e = refuse_header_as_arguments(&args).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(m.contains("golden-ls's header"), "{m}");
        assert!(m.contains("golden-ls | golden-derive --count 1"), "{m}");
        assert!(m.contains("xargs -n1 golden-derive --count 1"), "{m}");
    }

    #[test]
    fn ipv4_choice_parses_auto_and_addresses_only() {
        assert_eq!(Ipv4Choice::parse("auto").unwrap(), Ipv4Choice::Auto);
        assert_eq!(
            Ipv4Choice::parse("10.1.2.3").unwrap(),
            Ipv4Choice::Fixed(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(Ipv4Choice::parse("10.1.2").unwrap_err().exit_code(), 2);
    }
}
