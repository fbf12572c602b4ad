//! Phase 1: which clones of which templates, from the arguments or stdin.
//!
//! Every name is checked as it is read, and only the name is kept of each
//! record, so a long input costs a few bytes a line.

use std::collections::BTreeSet;

use golden::cli::{self, Input};
use golden::name::InstanceRef;
use golden::record::{Origin, Record};
use golden::target::Wanted;
use golden::{Error, Result};

use crate::args::Args;

/// The name a clone will have: given, or the next free number of `--name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewName {
    Given(String),
    Numbered,
}

/// One clone to make: which template (an index into the wanted templates), which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub template: usize,
    pub new: NewName,
}

/// The templates wanted and the clones asked of them.
pub fn read(args: &Args) -> Result<(Vec<Wanted>, Vec<Request>)> {
    crate::options::refuse_header_as_arguments(args)?;
    let mut templates = Templates {
        project: args.project.clone(),
        wanted: Vec::new(),
    };
    let mut out = Vec::new();
    let count = args.count.unwrap_or(0);
    let numbered = |template: usize, out: &mut Vec<Request>| {
        out.extend((0..count).map(|_| Request {
            template,
            new: NewName::Numbered,
        }))
    };
    let from_args = !(args.new.is_empty() || args.new == ["-"]);
    match &args.template {
        // `golden-derive TEMPLATE --count N`: nothing to read.
        Some(t) if args.count.is_some() => {
            if !args.new.is_empty() {
                return Err(Error::usage(
                    "--count numbers the clones: give no NEW names with it",
                ));
            }
            let ti = templates.index(t, None)?;
            numbered(ti, &mut out);
        }
        Some(t) if from_args => {
            if args.new.iter().any(|n| n == "-") {
                return Err(Error::usage("'-' (read stdin) must be the only NEW"));
            }
            let ti = templates.index(t, None)?;
            for n in &args.new {
                out.push(Request {
                    template: ti,
                    new: NewName::Given(new_name(n, t)?),
                });
            }
        }
        t => {
            let Input::Stdin(records) = cli::input(&[], "NEW names")? else {
                unreachable!("no names given means stdin")
            };
            for r in records {
                let r = r?;
                match t {
                    Some(t) => {
                        let ti = templates.index(t, None)?;
                        let new = r.get("new").map_or_else(|| r.require("instance"), Ok)?;
                        let new = new_name(new, t).map_err(|e| r.at(e))?;
                        out.push(Request {
                            template: ti,
                            new: NewName::Given(new),
                        });
                    }
                    None => record_request(&r, &mut templates, &mut out, count)?,
                }
            }
            if out.is_empty() {
                return Err(Error::usage("no NEW names on stdin"));
            }
        }
    }
    one_remote(&templates.wanted)?;
    Ok((templates.wanted, out))
}

/// Pools, names, projects and addresses are read from one server: templates
/// on several remotes in one run are refused, as golden-ls refuses them.
fn one_remote(templates: &[Wanted]) -> Result<()> {
    let remotes: BTreeSet<_> = templates
        .iter()
        .map(|w| w.instance.remote.clone())
        .collect();
    if remotes.len() > 1 {
        let names: Vec<_> = remotes
            .iter()
            .map(|r| r.as_deref().unwrap_or("the default remote"))
            .collect();
        return Err(Error::usage(format!(
            "templates on several remotes ({}): derive from one remote at a time",
            names.join(", ")
        )));
    }
    Ok(())
}

/// A record without TEMPLATE on the command line: its `template` field, or
/// else its `instance` (a golden-ls record), is the template; its `new` field
/// names the clone, or `--count` numbers them.
fn record_request(
    r: &Record,
    templates: &mut Templates,
    out: &mut Vec<Request>,
    count: usize,
) -> Result<()> {
    let template = match r.get("template") {
        Some(t) => t,
        None => r.require("instance").map_err(|_| {
            r.at(Error::usage(
                "no \"template\" (or \"instance\") field: which golden to derive from?",
            ))
        })?,
    };
    let ti = templates
        .index(template, r.get("project"))
        .map_err(|e| r.at(e))?;
    match r.get("new") {
        Some(new) => out.push(Request {
            template: ti,
            new: NewName::Given(new_name(new, template).map_err(|e| r.at(e))?),
        }),
        None if count > 0 => out.extend((0..count).map(|_| Request {
            template: ti,
            new: NewName::Numbered,
        })),
        None => {
            return Err(r.at(Error::usage(format!(
                "no \"new\" field for a clone of {template}: give --count N to number clones of each template"
            ))))
        }
    }
    Ok(())
}

/// The templates met so far, each once.
struct Templates {
    /// `-p`, which wins over a record's project.
    project: Option<String>,
    wanted: Vec<Wanted>,
}

impl Templates {
    fn index(&mut self, name: &str, project: Option<&str>) -> Result<usize> {
        let instance = InstanceRef::parse(name)?;
        let project = self.project.clone().or(project.map(str::to_string));
        if let Some(p) = &project {
            golden::name::check_project_name(p)?;
        }
        if let Some(i) = self
            .wanted
            .iter()
            .position(|t| t.instance == instance && t.project == project)
        {
            return Ok(i);
        }
        self.wanted.push(Wanted {
            instance,
            project,
            record: Record::named(Origin::Argument, name),
        });
        Ok(self.wanted.len() - 1)
    }
}

/// A NEW name, checked; `REMOTE:` is allowed if it is the template's own, since
/// copies are made by the template's server.
pub fn new_name(new: &str, template: &str) -> Result<String> {
    let (template_remote, _) = golden::name::split_remote(template)?;
    let new_ref = InstanceRef::parse(new)?;
    match &new_ref.remote {
        Some(r) if Some(r) != template_remote.as_ref() => Err(Error::usage(format!(
            "{new}: a clone is made on its template's server ({}), not on remote {r}",
            template_remote.as_deref().unwrap_or("the default remote")
        ))),
        _ => Ok(new_ref.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> Args {
        Args::parse_from(std::iter::once("golden-derive").chain(argv.iter().copied()))
    }

    #[test]
    fn new_names_may_carry_only_the_template_remote() {
        assert_eq!(new_name("lab-1", "lab-reference").unwrap(), "lab-1");
        assert_eq!(new_name("lo:lab-1", "lo:lab-reference").unwrap(), "lab-1");
        assert_eq!(new_name("lab-1", "lo:lab-reference").unwrap(), "lab-1");
        let e = new_name("other:lab-1", "lo:lab-reference").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("template's server (lo)"), "{e}");
        assert_eq!(
            new_name("lo:lab-1", "lab-reference")
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(new_name("bad name", "t").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn count_with_a_template_reads_nothing_and_numbers_clones() {
        let (t, r) = read(&args(&["gold", "--count", "3"])).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(r.len(), 3);
        assert!(r.iter().all(|r| r.new == NewName::Numbered));
        let e = read(&args(&["gold", "x", "--count", "1"])).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn a_record_without_template_derives_from_its_instance() {
        let recs = golden::record::parse_all(
            "{\"instance\":\"gold\",\"new\":\"x\"}\n{\"instance\":\"gold\",\"project\":\"lab\"}\n",
        )
        .unwrap();
        let mut templates = Templates {
            project: None,
            wanted: Vec::new(),
        };
        let mut out = Vec::new();
        record_request(&recs[0], &mut templates, &mut out, 2).unwrap();
        record_request(&recs[1], &mut templates, &mut out, 2).unwrap();
        assert_eq!(templates.wanted.len(), 2, "gold, and gold in project lab");
        assert_eq!(
            out,
            [
                Request {
                    template: 0,
                    new: NewName::Given("x".into())
                },
                Request {
                    template: 1,
                    new: NewName::Numbered
                },
                Request {
                    template: 1,
                    new: NewName::Numbered
                },
            ]
        );
        let mut out = Vec::new();
        let e = record_request(&recs[1], &mut templates, &mut out, 0).unwrap_err();
        assert!(e.to_string().contains("stdin line 2"), "{e}");
        assert!(e.to_string().contains("--count"), "{e}");
    }

    #[test]
    fn templates_on_two_remotes_are_refused_before_any_call() {
        let mut t = Templates {
            project: None,
            wanted: Vec::new(),
        };
        t.index("a:tpl", None).unwrap();
        assert!(one_remote(&t.wanted).is_ok());
        t.index("a:other", None).unwrap();
        assert!(one_remote(&t.wanted).is_ok());
        t.index("b:tpl", None).unwrap();
        let e = one_remote(&t.wanted).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("several remotes (a, b)"), "{e}");
    }
}
