//! A golden's generations: each `golden-create` makes the next pristine, and
//! the one it replaces is kept as a snapshot `pristine.gN` (N its number),
//! so that an update that breaks the guest can be rolled back.
//!
//! The current generation is `pristine`; its number is in its own config
//! (and the golden's): `user.golden.generation`, written just before the
//! snapshot. A golden made before generations were kept has none: its
//! pristine is generation 1.
//!
//! The last `keep` generations are kept (the current one included); an
//! older one is removed only once no clone came from it, so that a clone's
//! pristine is never removed by the tools while the clone lives.

use std::collections::BTreeMap;

use crate::model::{
    generation_of_snapshot, generation_snapshot, DEFAULT_KEEP, KEY_GENERATION, KEY_KEEP,
    KEY_REVOKED, PRISTINE,
};

/// One generation of a golden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub number: u64,
    /// `pristine` for the current one, else `pristine.gN`.
    pub snapshot: String,
    pub created_at: String,
}

impl Generation {
    pub fn is_current(&self) -> bool {
        self.snapshot == PRISTINE
    }
}

/// The clones of the golden `project/name` (whose config is `golden`) among
/// `all`: instances whose provenance names it, by its `volatile.uuid` (which
/// a rename keeps), or by project and name for clones older than that.
pub fn clones_among<'a>(
    all: &'a [crate::incus::Instance],
    project: &str,
    name: &str,
    golden: &BTreeMap<String, String>,
) -> Vec<(&'a crate::incus::Instance, crate::model::Provenance<'a>)> {
    let uuid = golden.get("volatile.uuid").map(String::as_str);
    all.iter()
        .filter_map(|i| Some((i, crate::model::Provenance::of(&i.config)?)))
        .filter(|(_, p)| match p.template_uuid {
            Some(u) => Some(u) == uuid,
            None => (p.project, p.template) == (project, name),
        })
        .collect()
}

/// The number a config (a golden's, or its pristine's) gives its generation:
/// 1 when it has none (a pristine made before generations were numbered).
pub fn number_in(config: &BTreeMap<String, String>) -> u64 {
    config
        .get(KEY_GENERATION)
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// How many generations a golden keeps, the current one included.
pub fn keep_of(config: &BTreeMap<String, String>) -> u32 {
    config
        .get(KEY_KEEP)
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_KEEP)
}

/// The generations revoked on a golden, with their reasons.
pub fn revoked(config: &BTreeMap<String, String>) -> BTreeMap<u64, &str> {
    config
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix(KEY_REVOKED)?.parse().ok()?;
            Some((n, v.as_str()))
        })
        .collect()
}

/// Refuses to copy a pristine whose generation the golden says is revoked
/// (`golden_config`: the golden's; `pristine_config`: the snapshot's, which
/// holds its number), unless `allow`, and then says so.
pub fn judge_revoked(
    name: &str,
    golden_config: &BTreeMap<String, String>,
    pristine_config: &BTreeMap<String, String>,
    allow: bool,
) -> crate::Result<()> {
    let n = number_in(pristine_config);
    let Some(reason) = revoked(golden_config).get(&n).copied() else {
        return Ok(());
    };
    if allow {
        crate::cli::notice(format!(
            "{name}: its pristine (generation {n}) is revoked ({reason}); copied all the same \
             (--allow-revoked)"
        ));
        return Ok(());
    }
    Err(crate::Error::failed(format!(
        "{name}: its pristine (generation {n}) is revoked: {reason}; make a good one current \
         (golden-create {name}, or --rollback), or pass --allow-revoked"
    )))
}

/// A golden's generations, newest number first, from its snapshots
/// `(name, created_at)` and the number of its current pristine.
pub fn list<'a>(
    snapshots: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: u64,
) -> Vec<Generation> {
    let mut all: Vec<Generation> = snapshots
        .into_iter()
        .filter_map(|(name, created_at)| {
            let number = if name == PRISTINE {
                current
            } else {
                generation_of_snapshot(name)?
            };
            Some(Generation {
                number,
                snapshot: name.to_string(),
                created_at: created_at.to_string(),
            })
        })
        .collect();
    all.sort_by(|a, b| b.number.cmp(&a.number).then(a.snapshot.cmp(&b.snapshot)));
    all
}

/// The number the next pristine gets: one more than any generation there is
/// or was announced (the golden's own key, written before a snapshot that a
/// kill may have prevented).
pub fn next_number(generations: &[Generation], golden_config: &BTreeMap<String, String>) -> u64 {
    let announced = golden_config
        .get(KEY_GENERATION)
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    generations
        .iter()
        .map(|g| g.number)
        .chain([announced])
        .max()
        .unwrap_or(0)
        + 1
}

/// The snapshot the current pristine is set aside as when replaced.
pub fn set_aside_name(current: u64) -> String {
    generation_snapshot(current)
}

/// The kept generations to remove now: those beyond the newest `keep`
/// (current included) that no clone came from. `clones_of(created_at)` counts
/// the living clones of a generation. Also returns the ones kept beyond
/// `keep` because clones came from them, with their counts.
pub fn to_prune(
    generations: &[Generation],
    keep: u32,
    clones_of: impl Fn(&str) -> usize,
) -> (Vec<Generation>, Vec<(Generation, usize)>) {
    let mut prune = Vec::new();
    let mut held = Vec::new();
    let old = generations.iter().filter(|g| !g.is_current());
    for g in old.skip(keep.saturating_sub(1) as usize) {
        match clones_of(&g.created_at) {
            0 => prune.push(g.clone()),
            n => held.push((g.clone(), n)),
        }
    }
    (prune, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gens(names: &[(&str, &str)], current: u64) -> Vec<Generation> {
        list(names.iter().copied(), current)
    }

    #[test]
    fn the_current_pristine_and_the_kept_ones_are_listed_newest_first() {
        let g = gens(
            &[
                ("snap0", "t0"),
                ("pristine.g2", "t2"),
                (PRISTINE, "t4"),
                ("pristine.g3", "t3"),
                ("pristine.golden-next", "t5"),
            ],
            4,
        );
        let numbers: Vec<u64> = g.iter().map(|g| g.number).collect();
        assert_eq!(numbers, [4, 3, 2]);
        assert!(g[0].is_current());
        assert_eq!(g[1].snapshot, "pristine.g3");
    }

    #[test]
    fn a_pristine_without_a_number_is_the_first_and_the_next_counts_on() {
        let none = BTreeMap::new();
        assert_eq!(number_in(&none), 1);
        let g = gens(&[(PRISTINE, "t1")], number_in(&none));
        assert_eq!(next_number(&g, &none), 2);
        assert_eq!(next_number(&[], &none), 1);
        // A number announced by a create killed before its snapshot is not reused.
        let announced = BTreeMap::from([(KEY_GENERATION.to_string(), "5".to_string())]);
        assert_eq!(next_number(&gens(&[(PRISTINE, "t1")], 4), &announced), 6);
        // After a rollback, the next is past every kept one.
        let after = gens(&[(PRISTINE, "t2"), ("pristine.g3", "t3")], 2);
        assert_eq!(next_number(&after, &BTreeMap::new()), 4);
    }

    #[test]
    fn old_generations_beyond_keep_go_unless_clones_came_from_them() {
        let g = gens(
            &[
                (PRISTINE, "t5"),
                ("pristine.g4", "t4"),
                ("pristine.g3", "t3"),
                ("pristine.g2", "t2"),
                ("pristine.g1", "t1"),
            ],
            5,
        );
        let clones = |c: &str| if c == "t2" { 3 } else { 0 };
        let (prune, held) = to_prune(&g, 3, clones);
        let p: Vec<u64> = prune.iter().map(|g| g.number).collect();
        assert_eq!(p, [1]);
        assert_eq!(held.len(), 1);
        assert_eq!((held[0].0.number, held[0].1), (2, 3));
        // keep 1: only the current one, unless clones hold the others.
        let (prune, held) = to_prune(&g, 1, clones);
        assert_eq!(prune.len(), 3);
        assert_eq!(held[0].0.number, 2);
    }

    #[test]
    fn keep_and_revocations_are_read_from_the_golden() {
        let c = BTreeMap::from([
            (KEY_KEEP.to_string(), "5".to_string()),
            (
                "user.golden.revoked.3".to_string(),
                "leaked key".to_string(),
            ),
            ("user.golden.revoked.x".to_string(), "ignored".to_string()),
        ]);
        assert_eq!(keep_of(&c), 5);
        assert_eq!(keep_of(&BTreeMap::new()), DEFAULT_KEEP);
        assert_eq!(revoked(&c), BTreeMap::from([(3, "leaked key")]));
    }
}
