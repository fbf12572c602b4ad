//! Copies to other cluster members, at run time.
//!
//! A copy to another member on storage of each member's own is a migration: a
//! full copy over the network. Incus 6.0 fails several at once from one source
//! ("Error reading migration control source: websocket: close 1000"), even to
//! different members: a run makes them one at a time (CoW copies still run
//! `-j` at once), and one that fails so, a copy of another run's meanwhile, is
//! tried again (a failed migration leaves nothing behind).
//!
//! And a spread pays that transfer once per member, not once per clone: the
//! first clone a member gets is the full copy (its *seed*); the others there
//! are CoW copies of the seed, made on that member before anything starts it
//! (so, with `--start`, the transfer is paid per clone: a started seed is no
//! longer pristine). Each clone records the template's pristine as its origin,
//! whichever way it was made.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::pristine::Pristine;

/// A clone made on a member by a full copy, that later clones there copy.
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub copied: Pristine,
}

/// The seed of one (template, member), if made; locked during a full copy there.
pub type Slot = Arc<Mutex<Option<Seed>>>;

/// One slot per (template, member): held during a full copy to that member.
#[derive(Default)]
pub struct Seeds {
    /// CoW copies of the seed allowed (a spread without --start).
    pub enabled: bool,
    /// Held during each full copy to another member.
    pub transfer: Mutex<()>,
    slots: Mutex<BTreeMap<(usize, String), Slot>>,
}

impl Seeds {
    pub fn new(enabled: bool) -> Self {
        Seeds {
            enabled,
            transfer: Mutex::default(),
            slots: Mutex::default(),
        }
    }

    /// The slot of template `ti`'s clones on `member`.
    pub fn slot(&self, ti: usize, member: &str) -> Slot {
        self.slots
            .lock()
            .expect("seed slots")
            .entry((ti, member.to_string()))
            .or_default()
            .clone()
    }
}
