//! Replacing `pristine` without a moment where there is none.
//!
//! The new snapshot is made as [`PRISTINE_NEXT`]; then `pristine` is renamed
//! to its generation's name (`pristine.gN`: it is kept, see
//! `golden::generations`) and the new one renamed `pristine` (and told never
//! to expire).
//! After a kill at any point at least one of the names holds a whole
//! snapshot that a reader takes for the golden's, and [`finish_interrupted`]
//! brings any leftover state back to plain `pristine` before the next swap.
//!
//! The temporary snapshots carry the expiry [`SWAP_MARK`]: only snapshots with
//! those names *and* that mark are the swap's; a user's snapshot of the same
//! name is never renamed or deleted. ([`PRISTINE_OLD`] is what the swap set
//! the old pristine aside as before generations were kept: a run killed then
//! may have left one, which is still finished.)
//!
//! The swap comes in phases so that a caller can hold readers off (see
//! `golden::readers`) only while names change: [`prepare`] and [`commit`]
//! rename, [`make_next`] and [`finish`] do not touch what a reader may copy.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::incus::{Snapshot, SnapshotsOf};
use crate::model::{
    current_pristine, is_swap_temporary, NEVER, PRISTINE, PRISTINE_NEXT, PRISTINE_OLD, SWAP_MARK,
};

/// Snapshot operations on one instance or volume.
pub trait Snapshots {
    fn list(&self) -> Result<Vec<Snapshot>>;
    /// Makes a snapshot expiring at `expires_at` (an RFC 3339 time; [`NEVER`]: never).
    fn create(&self, name: &str, expires_at: &str) -> Result<()>;
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
    fn set_expiry(&self, name: &str, expires_at: &str) -> Result<()>;
}

/// The daemon's snapshots of an instance or a custom volume.
impl Snapshots for SnapshotsOf<'_> {
    fn list(&self) -> Result<Vec<Snapshot>> {
        SnapshotsOf::list(self)
    }
    fn create(&self, name: &str, expires_at: &str) -> Result<()> {
        SnapshotsOf::create(self, name, expires_at)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        SnapshotsOf::rename(self, from, to)
    }
    fn delete(&self, name: &str) -> Result<()> {
        SnapshotsOf::delete(self, name)
    }
    fn set_expiry(&self, name: &str, expires_at: &str) -> Result<()> {
        SnapshotsOf::set_expiry(self, name, expires_at)
    }
}

/// The snapshot standing for pristine among `list`, and when it was made.
pub fn pristine_of(list: &[Snapshot]) -> Option<(&str, &str)> {
    current_pristine(list.iter().map(|s| {
        (
            s.name.as_str(),
            s.created_at.as_str(),
            Some(s.expires_at.as_str()),
        )
    }))
}

/// Which of the three names exist, the temporary ones only if the swap's own.
fn names(s: &[Snapshot]) -> (bool, bool, bool) {
    let has = |n: &str| {
        s.iter()
            .any(|x| x.name == n && (n == PRISTINE || is_swap_temporary(n, Some(&x.expires_at))))
    };
    (has(PRISTINE), has(PRISTINE_NEXT), has(PRISTINE_OLD))
}

/// Brings a half-done swap to its end, keeping the newest whole snapshot as
/// `pristine`. Returns the snapshots as they are afterwards.
pub fn finish_interrupted(s: &dyn Snapshots) -> Result<Vec<Snapshot>> {
    let list = s.list()?;
    let (p, next, old) = names(&list);
    if !(next || old) {
        // Killed before the new `pristine` was told never to expire.
        if list
            .iter()
            .any(|x| x.name == PRISTINE && x.expires_at == SWAP_MARK)
        {
            s.set_expiry(PRISTINE, NEVER)?;
            return s.list();
        }
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
        s.set_expiry(PRISTINE, NEVER)?;
        if old {
            s.delete(PRISTINE_OLD)?;
        }
    } else {
        s.rename(PRISTINE_OLD, PRISTINE)?;
        s.set_expiry(PRISTINE, NEVER)?;
    }
    s.list()
}

/// Phase 1 (readers held off): finishes an interrupted swap; returns when the
/// `pristine` about to be replaced was made, if there is one.
pub fn prepare(s: &dyn Snapshots) -> Result<Option<String>> {
    let before = finish_interrupted(s)?;
    // What is left under a temporary name is not ours: never touched, but in the way.
    if let Some(x) = before
        .iter()
        .find(|x| x.name == PRISTINE_NEXT || x.name == PRISTINE_OLD)
    {
        return Err(Error::failed(format!(
            "a snapshot named {} that golden-create did not make is in the way \
             (the name is kept for its own swap): rename it",
            x.name
        )));
    }
    Ok(before
        .into_iter()
        .find(|x| x.name == PRISTINE)
        .map(|x| x.created_at))
}

/// Phase 2 (readers may copy meanwhile): the new snapshot, under its temporary name.
pub fn make_next(s: &dyn Snapshots) -> Result<()> {
    s.create(PRISTINE_NEXT, SWAP_MARK)?;
    crate::killpoint::reach("swap:next-made");
    Ok(())
}

/// Phase 3 (readers held off): the old `pristine`, if any, is set aside as
/// `set_aside` (its generation's name), and the new snapshot takes the name
/// `pristine`. Killed between the two, `-next` stands for the golden.
pub fn commit(s: &dyn Snapshots, set_aside: Option<&str>) -> Result<()> {
    if let Some(name) = set_aside {
        patiently(|| s.rename(PRISTINE, name))?;
        crate::killpoint::reach("swap:old-set-aside");
    }
    patiently(|| s.rename(PRISTINE_NEXT, PRISTINE))?;
    crate::killpoint::reach("swap:renamed");
    Ok(())
}

/// Phase 4 (readers may copy meanwhile): the new `pristine` never expires.
/// Returns when it was made.
pub fn finish(s: &dyn Snapshots) -> Result<String> {
    s.set_expiry(PRISTINE, NEVER)?;
    Ok(s.list()?
        .into_iter()
        .find(|x| x.name == PRISTINE)
        .map(|x| x.created_at)
        .unwrap_or_default())
}

/// A snapshot being read (by a copy or an image made on another machine, which
/// no lock here holds off) cannot be renamed: the daemon says "device or
/// resource busy". Such a rename is tried again for a while before giving up.
fn patiently(op: impl Fn() -> Result<()>) -> Result<()> {
    let mut wait = Duration::from_millis(100);
    for _ in 0..8 {
        match op() {
            Err(e) if busy(&e) => std::thread::sleep(wait),
            other => return other,
        }
        wait = (wait * 2).min(Duration::from_secs(2));
    }
    op()
}

fn busy(e: &Error) -> bool {
    crate::incus::Kind::of(e) == crate::incus::Kind::DeviceBusy
}

/// Outcome of a swap: when the replaced and the new `pristine` were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swapped {
    pub previous: Option<String>,
    pub created_at: String,
}

/// Makes a new `pristine`, the old one kept as `set_aside`: the four phases
/// in a row, for a caller with no reader to hold off.
pub fn replace_pristine(s: &dyn Snapshots, set_aside: &str) -> Result<Swapped> {
    let previous = prepare(s)?;
    make_next(s)?;
    commit(s, previous.as_ref().map(|_| set_aside))?;
    let created_at = finish(s)?;
    Ok(Swapped {
        previous,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
            // As the swap leaves them: its temporaries marked, pristine never expiring.
            for n in names {
                let mark = if *n == PRISTINE { NEVER } else { SWAP_MARK };
                m.push(n, mark);
            }
            m
        }
        fn push(&self, name: &str, expires_at: &str) {
            self.clock.set(self.clock.get() + 1);
            self.snaps.borrow_mut().push(Snapshot {
                name: name.into(),
                created_at: format!("t{}", self.clock.get()),
                expires_at: expires_at.into(),
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
        fn create(&self, name: &str, expires_at: &str) -> Result<()> {
            self.step()?;
            assert!(
                !self.snaps.borrow().iter().any(|x| x.name == name),
                "create onto existing {name}"
            );
            self.push(name, expires_at);
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
        fn set_expiry(&self, name: &str, expires_at: &str) -> Result<()> {
            self.step()?;
            self.snaps
                .borrow_mut()
                .iter_mut()
                .find(|x| x.name == name)
                .expect("snapshot to set")
                .expires_at = expires_at.into();
            Ok(())
        }
    }

    /// Is there a golden among these snapshots, as a reader judges it?
    fn has_golden(m: &Memory) -> bool {
        pristine_of(&m.snaps.borrow()).is_some()
    }

    #[test]
    fn first_pristine_has_no_previous() {
        let m = Memory::with(&["snap0"]);
        let out = replace_pristine(&m, "pristine.g1").unwrap();
        assert_eq!(out.previous, None);
        assert_eq!(m.names(), ["pristine", "snap0"]);
        assert_eq!(out.created_at, "t2");
        assert_eq!(m.snaps.borrow()[1].expires_at, NEVER);
    }

    #[test]
    fn replacing_keeps_the_old_pristine_as_its_generation() {
        let m = Memory::with(&["pristine"]);
        let out = replace_pristine(&m, "pristine.g1").unwrap();
        assert_eq!(out.previous.as_deref(), Some("t1"));
        assert_eq!(out.created_at, "t2");
        assert_eq!(m.names(), ["pristine", "pristine.g1"]);
        for s in m.snaps.borrow().iter() {
            assert_eq!(s.expires_at, NEVER, "{}", s.name);
        }
        // Never a moment without a golden along the way.
        assert!(
            m.history
                .borrow()
                .iter()
                .all(|h| h.iter().any(|n| n.starts_with(PRISTINE))),
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
            assert!(
                replace_pristine(&m, "pristine.g1").is_err(),
                "step {die_at}"
            );
            assert!(
                has_golden(&m),
                "after a kill at step {die_at}: {:?}",
                m.names()
            );
            let again = Memory {
                snaps: RefCell::new(m.snaps.borrow().clone()),
                clock: Cell::new(10),
                ..Default::default()
            };
            let out = replace_pristine(&again, "pristine.g2").unwrap();
            let names = again.names();
            assert_eq!(names[0], "pristine", "after a kill at step {die_at}");
            // The pristine the killed run found is kept, under one name.
            let kept = names.iter().filter(|n| n.starts_with("pristine.g")).count();
            assert_eq!(names.len(), 1 + kept, "{names:?}");
            assert!((1..=2).contains(&kept), "{names:?}");
            assert!(out.previous.is_some(), "step {die_at}");
            assert!(again.snaps.borrow().iter().all(|s| s.expires_at == NEVER));
        }
    }

    #[test]
    fn leftovers_are_finished_keeping_the_newest_whole_snapshot() {
        let cases: &[(&[&str], &str)] = &[
            (&[PRISTINE_OLD, PRISTINE_NEXT], "t2"), // killed between the renames
            (&[PRISTINE, PRISTINE_NEXT], "t1"),     // killed after making -next
            (&[PRISTINE_OLD, PRISTINE], "t2"),      // killed before deleting -old
            (&[PRISTINE_OLD], "t1"),
            (&[PRISTINE_NEXT], "t1"),
        ];
        for (names, keep) in cases {
            let m = Memory::with(names);
            let after = finish_interrupted(&m).unwrap();
            let p: Vec<_> = after
                .iter()
                .filter(|s| s.name.starts_with(PRISTINE))
                .collect();
            assert_eq!(p.len(), 1, "{names:?}");
            assert_eq!(
                (
                    p[0].name.as_str(),
                    p[0].created_at.as_str(),
                    p[0].expires_at.as_str()
                ),
                (PRISTINE, *keep, NEVER),
                "{names:?}"
            );
        }
    }

    #[test]
    fn snapshots_a_user_named_like_ours_are_left_alone() {
        let m = Memory::default();
        m.push("pristine-next", NEVER);
        m.push("pristine-old", NEVER);
        m.push(PRISTINE, NEVER);
        replace_pristine(&m, "pristine.g1").unwrap();
        assert_eq!(
            m.names(),
            ["pristine", "pristine-next", "pristine-old", "pristine.g1"]
        );
        // Without pristine they are not taken for one either.
        let m = Memory::default();
        m.push(PRISTINE_OLD, "2030-01-01T00:00:00Z");
        assert!(!has_golden(&m));
    }

    #[test]
    fn a_user_snapshot_holding_a_temporary_name_is_named_in_the_error() {
        let m = Memory::default();
        m.push(PRISTINE, NEVER);
        m.push(PRISTINE_NEXT, NEVER);
        let e = replace_pristine(&m, "pristine.g1").unwrap_err();
        assert!(e.to_string().contains(PRISTINE_NEXT), "{e}");
        assert_eq!(m.names(), [PRISTINE, PRISTINE_NEXT], "nothing touched");
    }
}
