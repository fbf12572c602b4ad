//! Phase 4: whose identity is reset, and the keys made ahead for it.
//!
//! Decided per template before the first copy: kept (`--keep-identity`), not
//! reachable (a virtual machine: the files API needs its agent, which runs
//! only once it is started), or reset. For a reset, the template's SSH host
//! key kinds are read first, and the [`KeyPool`] starts making every clone's
//! keys while the daemon copies. Each clone then resets from the survey of
//! the snapshot it was copied from ([`golden::identity`]).

use std::sync::{Arc, Mutex};

use golden::cli::notice;
use golden::model::KEY_IDENTITY;
use golden::{Error, Result};

use crate::options::Options;
use crate::plan::Job;
use crate::request::VM_NOT_RESET;
use crate::template::Template;
use golden::identity::templates::TRIGGER_NONE;
use golden::identity::{self, Files, InInstance, Survey, SSH_DIR};
use golden::identity::{KeyKind, KeyPool};

/// What happens to the identity of one template's clones.
pub enum Renewal {
    Keep,
    /// The pristine's templates renew it at the first start (the column
    /// says what), unless kept: nothing to do per clone but, to keep it, to
    /// replace the daemon's trigger ([`TRIGGER_NONE`]).
    Templates {
        column: String,
        keep: bool,
    },
    /// A virtual machine: said in a notice and in the column.
    Vm,
    Reset {
        /// For `-n`: the template's own survey.
        dry: Option<Box<Survey>>,
        /// The survey of the snapshot last copied (`snapshot@created_at`).
        last: Mutex<Option<(String, Arc<Survey>)>>,
    },
}

/// Every template's renewal, and the keys under way.
pub struct Renewals {
    pub of: Vec<Renewal>,
    pub pool: KeyPool,
}

/// Decides, per template, before any copy; starts making keys.
pub fn prepare(templates: &[Template], jobs: &[Job], opts: &Options) -> Result<Renewals> {
    let mut of = Vec::with_capacity(templates.len());
    let mut wanted: Vec<Vec<KeyKind>> = Vec::new();
    for (i, tpl) in templates.iter().enumerate() {
        let copies = jobs.iter().filter(|j| j.template == i && resets(j)).count();
        let name = &tpl.target.name;
        let renewal = if !tpl.renews.is_empty() {
            Renewal::Templates {
                column: tpl.renews.clone(),
                keep: opts.keep_identity,
            }
        } else if opts.keep_identity || copies == 0 {
            Renewal::Keep
        } else if tpl.kind == "virtual-machine" {
            notice(format!(
                "clones of {name} are virtual machines: their identity is not reset (the \
                     files API needs the VM agent, which runs only once a VM is started); reset \
                     it at first boot (see golden-derive(1), IDENTITY)"
            ));
            Renewal::Vm
        } else {
            let incus = tpl.target.incus();
            if !incus.speaks_files()? {
                return Err(Error::usage(format!(
                    "{name}: resetting the clones' identity needs the daemon's files API, \
                     which a remote reached through `incus query` cannot carry: give \
                     --keep-identity to derive without the reset"
                )));
            }
            let files = InInstance {
                incus: &incus,
                project: &tpl.target.project,
                name,
            };
            let dry = if opts.run.dry_run {
                let s = identity::survey(&files, name)
                    .map_err(|e| e.context(format!("reading {name}'s identity files")))?;
                let held = s.describe();
                notice(if held.is_empty() {
                    format!("{name} holds no identity file to reset")
                } else {
                    format!("{name} holds: {}", held.join(", "))
                });
                Some(Box::new(s))
            } else {
                // Only a forecast, to make keys early: a template that cannot be
                // read just now (a golden-create snapshotting it) forecasts
                // nothing, and each clone's keys are made when it needs them.
                wanted.push(key_kinds(&files).unwrap_or_default());
                None
            };
            Renewal::Reset {
                dry,
                last: Mutex::new(None),
            }
        };
        of.push(renewal);
    }
    // The first clones' keys first; every clone of a template needs its kinds.
    let mut order = Vec::new();
    let mut w = 0;
    for (i, r) in of.iter().enumerate() {
        if let Renewal::Reset { dry: None, .. } = r {
            let kinds = &wanted[w];
            w += 1;
            for _ in jobs.iter().filter(|j| j.template == i && resets(j)) {
                order.extend(kinds.iter().copied());
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(Renewals {
        of,
        pool: KeyPool::start(order, threads),
    })
}

/// Does this job reset a clone's identity (unless kept)? A new clone, or one
/// an earlier run copied and was stopped before resetting.
fn resets(j: &Job) -> bool {
    j.existing.as_ref().is_none_or(|m| m.pending)
}

/// The kinds of the SSH host keys the template holds now (a forecast of what
/// its pristine holds: the reset reads the clone itself).
fn key_kinds(files: &dyn Files) -> Result<Vec<KeyKind>> {
    let Some(dir) = files.read(SSH_DIR)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for name in dir
        .entries
        .iter()
        .filter(|n| n.starts_with("ssh_host_") && n.ends_with("_key"))
    {
        let public = files.read(&format!("{SSH_DIR}/{name}.pub"))?;
        let kind = public
            .and_then(|p| KeyKind::of_public(&p.text()))
            .or_else(|| KeyKind::of_file_name(name));
        out.extend(kind);
    }
    Ok(out)
}

impl Renewals {
    /// The column of a dry run: what would be reset.
    pub fn planned(&self, template: usize) -> String {
        match &self.of[template] {
            Renewal::Keep | Renewal::Templates { keep: true, .. } => "-".into(),
            Renewal::Templates { column, .. } => column.clone(),
            Renewal::Vm => VM_NOT_RESET.into(),
            Renewal::Reset { dry, .. } => {
                identity::column(&dry.as_deref().map(Survey::categories).unwrap_or_default())
            }
        }
    }

    /// Resets clone `clone` of template `template`, copied from `source`
    /// (`snapshot@created_at`) of the instance named `holder` (the template, or
    /// in a spread the first clone on a member, whose identity a CoW copy of it
    /// holds); returns the column.
    pub fn apply(
        &self,
        tpl: &Template,
        template: usize,
        clone: &str,
        (source, holder): (&str, &str),
    ) -> Result<String> {
        let incus = tpl.target.incus();
        let last = match &self.of[template] {
            Renewal::Reset { last, .. } => last,
            Renewal::Templates { keep: true, .. } => {
                let kept = serde_json::json!({ "config": {
                    "volatile.apply_template": TRIGGER_NONE,
                }});
                incus.update_instance(&tpl.clone_project, clone, &kept)?;
                return Ok(self.planned(template));
            }
            _ => return Ok(self.planned(template)),
        };
        let files = InInstance {
            incus: &incus,
            project: &tpl.clone_project,
            name: clone,
        };
        let survey = {
            let mut last = last.lock().expect("survey cache");
            let key = format!("{holder}/{source}");
            match &*last {
                Some((k, s)) if *k == key => s.clone(),
                _ => {
                    let s = Arc::new(identity::survey(&files, holder)?);
                    *last = Some((key, s.clone()));
                    s
                }
            }
        };
        let done = identity::reset(&files, &survey, (holder, clone), &self.pool)?;
        let column = identity::column(&done);
        let mark = serde_json::json!({ "config": { KEY_IDENTITY: column } });
        incus.update_instance(&tpl.clone_project, clone, &mark)?;
        Ok(column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_says_what_each_template_s_clones_get() {
        let r = Renewals {
            of: vec![
                Renewal::Keep,
                Renewal::Vm,
                Renewal::Reset {
                    dry: Some(Box::new(Survey {
                        random_seed: true,
                        ..Survey::default()
                    })),
                    last: Mutex::new(None),
                },
            ],
            pool: KeyPool::default(),
        };
        assert_eq!(r.planned(0), "-");
        assert_eq!(r.planned(1), VM_NOT_RESET);
        assert_eq!(r.planned(2), "random-seed");
    }
}
