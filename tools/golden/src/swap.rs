//! Replacing `pristine` without a moment where there is none.
//!
//! The new snapshot is made as `pristine-next`; then `pristine` is renamed
//! `pristine-old`, `pristine-next` renamed `pristine`, and `pristine-old` deleted.
//! After a kill at any point at least one of the three names holds a whole
//! snapshot, and [`finish_interrupted`] brings any leftover state back to plain
//! `pristine` (or nothing) before the next swap.

use crate::error::Result;
use crate::incus::{Snapshot, SnapshotsOf};
use crate::model::{PRISTINE, PRISTINE_NEXT, PRISTINE_OLD};

/// Snapshot operations on one instance or volume.
pub trait Snapshots {
    fn list(&self) -> Result<Vec<Snapshot>>;
    fn create(&self, name: &str) -> Result<()>;
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
}

/// The daemon's snapshots of an instance or a custom volume.
impl Snapshots for SnapshotsOf<'_> {
    fn list(&self) -> Result<Vec<Snapshot>> {
        SnapshotsOf::list(self)
    }
    fn create(&self, name: &str) -> Result<()> {
        SnapshotsOf::create(self, name)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        SnapshotsOf::rename(self, from, to)
    }
    fn delete(&self, name: &str) -> Result<()> {
        SnapshotsOf::delete(self, name)
    }
}

fn names(s: &[Snapshot]) -> (bool, bool, bool) {
    let has = |n: &str| s.iter().any(|x| x.name == n);
    (has(PRISTINE), has(PRISTINE_NEXT), has(PRISTINE_OLD))
}

/// Brings a half-done swap to its end, keeping the newest whole snapshot as
/// `pristine`. Returns the snapshots as they are afterwards.
pub fn finish_interrupted(s: &dyn Snapshots) -> Result<Vec<Snapshot>> {
    let list = s.list()?;
    let (p, next, old) = names(&list);
    if !(next || old) {
        return Ok(list);
    }
    if p {
        // The swap got as far as the new `pristine`, or never past making `-next`:
        // `pristine` is whole, the others are extra.
        if next {
            s.delete(PRISTINE_NEXT)?;
        }
        if old {
            s.delete(PRISTINE_OLD)?;
        }
    } else if next {
        // Killed between the two renames: `-next` is the newest whole snapshot.
        s.rename(PRISTINE_NEXT, PRISTINE)?;
        if old {
            s.delete(PRISTINE_OLD)?;
        }
    } else {
        s.rename(PRISTINE_OLD, PRISTINE)?;
    }
    s.list()
}

/// Outcome of a swap: when the replaced and the new `pristine` were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swapped {
    pub previous: Option<String>,
    pub created_at: String,
}

/// Makes a new `pristine`, the old one kept until the new one is in place.
pub fn replace_pristine(s: &dyn Snapshots) -> Result<Swapped> {
    let before = finish_interrupted(s)?;
    let previous = before
        .iter()
        .find(|x| x.name == PRISTINE)
        .map(|x| x.created_at.clone());
    s.create(PRISTINE_NEXT)?;
    if previous.is_some() {
        s.rename(PRISTINE, PRISTINE_OLD)?;
    }
    s.rename(PRISTINE_NEXT, PRISTINE)?;
    if previous.is_some() {
        s.delete(PRISTINE_OLD)?;
    }
    let created_at = s
        .list()?
        .into_iter()
        .find(|x| x.name == PRISTINE)
        .map(|x| x.created_at)
        .unwrap_or_default();
    Ok(Swapped {
        previous,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::cell::{Cell, RefCell};

    /// An in-memory snapshot list that can fail at the Nth operation, standing
    /// for a kill at that point: the state it leaves is what a later run finds.
    #[derive(Default)]
    struct Memory {
        snaps: RefCell<Vec<Snapshot>>,
        clock: Cell<u32>,
        ops: Cell<u32>,
        die_at: Option<u32>,
        history: RefCell<Vec<Vec<String>>>,
    }

    impl Memory {
        fn with(names: &[&str]) -> Self {
            let m = Memory::default();
            for n in names {
                m.push(n);
            }
            m
        }
        fn push(&self, name: &str) {
            self.clock.set(self.clock.get() + 1);
            self.snaps.borrow_mut().push(Snapshot {
                name: name.into(),
                created_at: format!("t{}", self.clock.get()),
                ..Default::default()
            });
        }
        fn step(&self) -> Result<()> {
            self.ops.set(self.ops.get() + 1);
            if Some(self.ops.get()) == self.die_at {
                return Err(Error::failed("killed"));
            }
            Ok(())
        }
        fn record(&self) {
            self.history.borrow_mut().push(self.names());
        }
        fn names(&self) -> Vec<String> {
            let mut n: Vec<String> = self.snaps.borrow().iter().map(|s| s.name.clone()).collect();
            n.sort();
            n
        }
    }

    impl Snapshots for Memory {
        fn list(&self) -> Result<Vec<Snapshot>> {
            Ok(self.snaps.borrow().clone())
        }
        fn create(&self, name: &str) -> Result<()> {
            self.step()?;
            self.push(name);
            self.record();
            Ok(())
        }
        fn rename(&self, from: &str, to: &str) -> Result<()> {
            self.step()?;
            let mut s = self.snaps.borrow_mut();
            assert!(!s.iter().any(|x| x.name == to), "rename onto existing {to}");
            s.iter_mut()
                .find(|x| x.name == from)
                .expect("rename source")
                .name = to.into();
            drop(s);
            self.record();
            Ok(())
        }
        fn delete(&self, name: &str) -> Result<()> {
            self.step()?;
            self.snaps.borrow_mut().retain(|x| x.name != name);
            self.record();
            Ok(())
        }
    }

    fn has_golden(names: &[String]) -> bool {
        names
            .iter()
            .any(|n| n == PRISTINE || n == PRISTINE_NEXT || n == PRISTINE_OLD)
    }

    #[test]
    fn first_pristine_has_no_previous() {
        let m = Memory::with(&["snap0"]);
        let out = replace_pristine(&m).unwrap();
        assert_eq!(out.previous, None);
        assert_eq!(m.names(), ["pristine", "snap0"]);
        assert_eq!(out.created_at, "t2");
    }

    #[test]
    fn replacing_keeps_one_pristine_and_reports_the_previous() {
        let m = Memory::with(&["pristine"]);
        let out = replace_pristine(&m).unwrap();
        assert_eq!(out.previous.as_deref(), Some("t1"));
        assert_eq!(out.created_at, "t2");
        assert_eq!(m.names(), ["pristine"]);
        // Never a moment without a golden along the way.
        assert!(
            m.history.borrow().iter().all(|h| has_golden(h)),
            "{:?}",
            m.history.borrow()
        );
    }

    #[test]
    fn a_kill_at_any_step_leaves_a_golden_and_the_next_run_cleans_up() {
        for die_at in 1..=4 {
            let m = Memory {
                die_at: Some(die_at),
                ..Memory::with(&["pristine"])
            };
            assert!(replace_pristine(&m).is_err(), "step {die_at}");
            assert!(
                has_golden(&m.names()),
                "after a kill at step {die_at}: {:?}",
                m.names()
            );
            let again = Memory {
                snaps: RefCell::new(m.snaps.borrow().clone()),
                clock: Cell::new(10),
                ..Default::default()
            };
            let out = replace_pristine(&again).unwrap();
            assert_eq!(again.names(), ["pristine"], "after a kill at step {die_at}");
            assert!(out.previous.is_some(), "step {die_at}");
            assert!(again.history.borrow().iter().all(|h| has_golden(h)));
        }
    }

    #[test]
    fn leftovers_are_finished_keeping_the_newest_whole_snapshot() {
        let cases: &[(&[&str], &str)] = &[
            (&["pristine-old", "pristine-next"], "t2"), // killed between the renames
            (&["pristine", "pristine-next"], "t1"),     // killed after making -next
            (&["pristine-old", "pristine"], "t2"),      // killed before deleting -old
            (&["pristine-old"], "t1"),
            (&["pristine-next"], "t1"),
        ];
        for (names, keep) in cases {
            let m = Memory::with(names);
            let after = finish_interrupted(&m).unwrap();
            let p: Vec<_> = after
                .iter()
                .filter(|s| s.name.starts_with("pristine"))
                .collect();
            assert_eq!(p.len(), 1, "{names:?}");
            assert_eq!(
                (p[0].name.as_str(), p[0].created_at.as_str()),
                (PRISTINE, *keep),
                "{names:?}"
            );
        }
    }
}
