//! Where the readers of a golden's pristine (derive, publish) and its swap
//! (create) meet.
//!
//! A copy or an image reads its snapshot for as long as it runs, and a
//! snapshot being read cannot be renamed (the daemon says "device or resource
//! busy": on dir pools during copies, on btrfs while an image is packed); and a
//! reader that picked a snapshot by name just before the swap renamed it
//! copies another snapshot than the one it names. So, per golden and on this
//! machine, a readers-writer lock:
//!
//! - a reader holds it shared from reading which snapshot stands for pristine
//!   until its copy (or image) exists — one clone at a time, so a bulk derive
//!   lets a create in between two copies;
//! - golden-create holds it exclusive only while names change (finishing a
//!   leftover swap, then the two renames), never while it stops the instance
//!   or takes the new snapshot.
//!
//! A second file, the turnstile, gives the swap its turn: readers pass it
//! (shared, for an instant) before taking the lock, and the swap holds it while
//! it waits, so a stream of overlapping copies cannot keep it out forever.
//!
//! The lock file holds a generation number, bumped by every exclusive hold: a
//! reader that finds the number it saw when it last read the pristine knows
//! the name still stands for the same snapshot, without asking the daemon again.
//!
//! One more pair, for images: while the daemon takes a new snapshot of an
//! instance it removes and remakes the link through which an image reads the
//! instance's other snapshots, and an image being made from `pristine` then
//! fails ("lstat …/pristine/rootfs: no such file or directory"). So
//! golden-publish holds [`NoNewSnapshot`] (shared) while its image is made, and
//! golden-create holds [`Snapshotting`] (exclusive) while it takes the new one.
//! Copies are not affected and take no part.
//!
//! Runs on other machines (or as other users, whose lock files are their own)
//! are not held off: readers still ride over a rename by looking again (see
//! `pristine`), and the swap tries a busy rename again for a while (see `swap`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use crate::error::{Error, Result};
use crate::lock::{file_name, open, take, wait};

fn snapshot_lock_name(remote: Option<&str>, project: &str, instance: &str) -> String {
    file_name(remote, project, instance).replace(".lock", ".snapshotting.lock")
}

/// Held by golden-publish while an image reads the pristine: no new snapshot
/// of the instance is taken meanwhile.
pub struct NoNewSnapshot {
    _file: File,
}

impl NoNewSnapshot {
    pub fn acquire(remote: Option<&str>, project: &str, instance: &str) -> Result<Self> {
        let (file, path) = open(&snapshot_lock_name(remote, project, instance))?;
        take(
            &file,
            &path,
            false,
            wait(),
            |_| {},
            || format!("a golden-create taking a snapshot of {instance}"),
        )?;
        Ok(NoNewSnapshot { _file: file })
    }
}

/// Held by golden-create while it takes a new snapshot: no image is being made.
pub struct Snapshotting {
    _file: File,
}

impl Snapshotting {
    pub fn acquire(
        remote: Option<&str>,
        project: &str,
        instance: &str,
        waiting: impl FnOnce(),
    ) -> Result<Self> {
        let (file, path) = open(&snapshot_lock_name(remote, project, instance))?;
        take(
            &file,
            &path,
            true,
            wait(),
            |_| waiting(),
            || format!("an image being made from {instance}"),
        )?;
        Ok(Snapshotting { _file: file })
    }
}

fn names(remote: Option<&str>, project: &str, instance: &str) -> (String, String) {
    let base = file_name(remote, project, instance);
    (
        base.replace(".lock", ".pristine.lock"),
        base.replace(".lock", ".turnstile.lock"),
    )
}

fn generation(mut f: &File) -> Result<u64> {
    let mut s = String::new();
    f.seek(SeekFrom::Start(0))?;
    f.read_to_string(&mut s)?;
    Ok(s.trim().parse().unwrap_or(0))
}

/// A reader's hold: the pristine is not renamed while it lives.
pub struct Shared {
    _file: File,
    generation: u64,
}

impl Shared {
    /// Waits while a swap changes names (a few renames), then holds them still.
    pub fn acquire(remote: Option<&str>, project: &str, instance: &str) -> Result<Self> {
        let (main, turnstile) = names(remote, project, instance);
        let swapping = || format!("a golden-create swapping {instance}'s pristine");
        let (gate, gate_path) = open(&turnstile)?;
        take(&gate, &gate_path, false, wait(), |_| {}, swapping)?;
        let (file, path) = open(&main)?;
        take(&file, &path, false, wait(), |_| {}, swapping)?;
        drop(gate);
        let generation = generation(&file)?;
        Ok(Shared {
            _file: file,
            generation,
        })
    }

    /// The number of swaps seen so far: unchanged, the names stand for the same snapshots.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// The swap's hold: no reader is between reading a name and its copy's end.
pub struct Exclusive {
    _gate: File,
    _file: File,
}

impl Exclusive {
    /// Takes the lock, calling `waiting` once if readers hold it, and counts one
    /// more generation: names may change while it is held.
    pub fn acquire(
        remote: Option<&str>,
        project: &str,
        instance: &str,
        waiting: impl FnOnce(),
    ) -> Result<Self> {
        let (main, turnstile) = names(remote, project, instance);
        let readers = || format!("derives or publishes reading {instance}'s pristine");
        let (gate, gate_path) = open(&turnstile)?;
        let mut waiting = Some(waiting);
        let mut say = |_: &std::path::Path| {
            if let Some(w) = waiting.take() {
                w()
            }
        };
        take(&gate, &gate_path, true, wait(), &mut say, readers)?;
        let (mut file, path) = open(&main)?;
        take(&file, &path, true, wait(), &mut say, readers)?;
        let next = generation(&file)? + 1;
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(format!("{next}\n").as_bytes())
            .map_err(|e| Error::failed(format!("lock file {}: {e}", path.display())))?;
        Ok(Exclusive {
            _gate: gate,
            _file: file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    fn instance(tag: &str) -> String {
        format!("readers-{tag}-{}", std::process::id())
    }

    #[test]
    fn readers_share_and_the_swap_waits_for_them_and_counts_a_generation() {
        let name = instance("share");
        let a = Shared::acquire(None, "unit-test", &name).unwrap();
        let b = Shared::acquire(None, "unit-test", &name).unwrap();
        assert_eq!(a.generation(), b.generation());
        let before = a.generation();
        let (tx, rx) = channel();
        let n = name.clone();
        let writer = std::thread::spawn(move || {
            let mut waited = false;
            let _x = Exclusive::acquire(None, "unit-test", &n, || waited = true).unwrap();
            tx.send(waited).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(a);
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(b);
        assert!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            "it said it waited"
        );
        writer.join().unwrap();
        let c = Shared::acquire(None, "unit-test", &name).unwrap();
        assert_eq!(c.generation(), before + 1);
    }

    #[test]
    fn a_waiting_swap_keeps_new_readers_out() {
        let name = instance("turn");
        let first = Shared::acquire(None, "unit-test", &name).unwrap();
        let (tx, rx) = channel();
        let n = name.clone();
        let writer = std::thread::spawn(move || {
            let (wtx, wrx) = channel();
            let hold = std::thread::spawn(move || {
                let _x = Exclusive::acquire(None, "unit-test", &n, || wtx.send(()).unwrap());
                std::thread::sleep(Duration::from_millis(100));
                "writer done"
            });
            wrx.recv().unwrap();
            tx.send(()).unwrap();
            hold.join().unwrap()
        });
        // The writer now waits for `first`; a new reader must wait behind it.
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let (rtx, rrx) = channel();
        let n = name.clone();
        let reader = std::thread::spawn(move || {
            let _r = Shared::acquire(None, "unit-test", &n).unwrap();
            rtx.send(()).unwrap();
        });
        assert!(rrx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        assert_eq!(writer.join().unwrap(), "writer done");
        rrx.recv_timeout(Duration::from_secs(5)).unwrap();
        reader.join().unwrap();
    }
}
