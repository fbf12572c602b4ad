//! What a golden is: an instance with a `pristine` snapshot, and what follows from it.

use std::collections::BTreeMap;

use crate::output::{col, Column};

/// The snapshot that makes an instance a golden.
pub const PRISTINE: &str = "pristine";
/// While `golden-create` replaces `pristine`, the new one is made under this name first...
pub const PRISTINE_NEXT: &str = "pristine.golden-next";
/// ...and the old one is set aside under this name until the new one is in place.
pub const PRISTINE_OLD: &str = "pristine.golden-old";
/// The expiry the swap gives its temporary snapshots: the mark that they are the
/// tool's own (a user's snapshot of the same name, expiring otherwise, is left
/// alone). So far ahead that it never expires, as a golden must not.
pub const SWAP_MARK: &str = "9999-12-31T00:00:00Z";
/// The zero time: "never expires", whatever `snapshots.expiry` says.
pub const NEVER: &str = "0001-01-01T00:00:00Z";

/// Config keys a derived instance carries to say where it came from.
pub const KEY_PROJECT: &str = "user.golden.project";
pub const KEY_TEMPLATE: &str = "user.golden.template";
pub const KEY_CREATED_AT: &str = "user.golden.created_at";
/// The template's `volatile.uuid`, which a rename keeps: clones are still its own.
pub const KEY_TEMPLATE_UUID: &str = "user.golden.template_uuid";
/// What golden-derive reset in the clone (its `identity` column), `pending`
/// from the copy until the reset is done: a clone an earlier run left between
/// the two (killed) is told from one reset, and `--skip-existing` finishes it.
pub const KEY_IDENTITY: &str = "user.golden.identity";
pub const IDENTITY_PENDING: &str = "pending";
/// On a golden, and so in its pristine: what its identity templates renew in
/// every instance made from it (see `golden::identity::templates`). Written
/// after the templates, before the snapshot: a pristine that says so holds
/// them. golden-derive then leaves the identity to them.
pub const KEY_RENEWS: &str = "user.golden.renews";

/// Set on a clone that ran while golden-refresh rebuilds it, so that a rerun
/// after a kill starts it again: [`RESTART_ASKED`] before its stop, then
/// [`RESTART_STOPPED`] once the refresh has stopped it.
pub const KEY_REFRESH_RESTART: &str = "user.golden.refresh.restart";
/// The clone ran and the refresh asked it to stop. Left alone, the mark says
/// the stop failed (timed out) or the run was killed during it: whoever
/// stopped the clone since, the refresh did not, and it is not started again.
pub const RESTART_ASKED: &str = "asked";
/// The refresh stopped the clone (it ran): a rerun starts it again. "true"
/// was this mark's word before the stop had a mark of its own.
pub const RESTART_STOPPED: &str = "stopped";
/// Set on a clone once its pre-refresh copy is whole: the refresh is under
/// way (its root may already be the new one), the copy holds the old state.
pub const KEY_REFRESH_FROM: &str = "user.golden.refresh.from";
/// On a clone under refresh, and on the copy of its state before: the
/// trigger the daemon had recorded for its next start
/// (`volatile.apply_template`: it was never started since it was copied or
/// made from an image). The rebuilt clone, or the copy given back by
/// `--restore`, gets it again: its first start renders the golden's templates
/// and the image's (a cloud-init seed) as it would have, instead of keeping
/// the template's identity.
pub const KEY_REFRESH_TRIGGER: &str = "user.golden.refresh.trigger";

/// On the copy golden-refresh keeps of a clone's state before a refresh: the
/// clone's name. Such a copy is no clone of its own (not counted, not listed).
pub const KEY_PRE_REFRESH_OF: &str = "user.golden.pre-refresh-of";

/// A golden's own settings that are meant for it, not for its clones: an
/// `incus copy` would carry them to every clone (a snapshot schedule and
/// expiry on each, every clone protected from deletion or started at boot).
/// golden-derive leaves them out; `-c` gives a clone its own.
pub const TEMPLATE_ONLY: &[&str] = &[
    "snapshots.schedule",
    "snapshots.schedule.stopped",
    "snapshots.pattern",
    "snapshots.expiry",
    "security.protection.delete",
    "boot.autostart",
];
/// On a golden, and so in each pristine: the number of its generation. Each
/// `golden-create` makes the next one; the pristines it replaces are kept as
/// snapshots named [`generation_snapshot`] (see `golden::generations`).
pub const KEY_GENERATION: &str = "user.golden.generation";
/// On a golden: how many generations to keep (`golden-create --keep`), the
/// current one included; [`DEFAULT_KEEP`] without it. One that clones still
/// came from is kept beyond it.
pub const KEY_KEEP: &str = "user.golden.keep";
pub const DEFAULT_KEEP: u32 = 3;
/// On a golden, `user.golden.revoked.N=REASON`: generation N is known bad.
/// golden-derive and golden-publish refuse it; golden-ls names its clones.
pub const KEY_REVOKED: &str = "user.golden.revoked.";
/// The golden's lifecycle, which is its own and not its clones' (left out of
/// every copy), and which a rollback keeps as it is (a restore would bring
/// the generation's own back).
pub fn is_lifecycle_key(key: &str) -> bool {
    key == KEY_GENERATION
        || key == KEY_KEEP
        || key == KEY_PROTECT_DELETE
        || key.starts_with(KEY_REVOKED)
}

/// The snapshot a generation is kept as once another pristine replaces it.
pub fn generation_snapshot(n: u64) -> String {
    format!("{PRISTINE}.g{n}")
}

/// The generation a kept snapshot holds, by its name (`pristine.gN`).
pub fn generation_of_snapshot(name: &str) -> Option<u64> {
    let n = name.strip_prefix(PRISTINE)?.strip_prefix(".g")?;
    // No sign, no leading zero: one name per number.
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Incus's refusal to delete an instance. golden-derive sets it on a golden
/// that gets clones: a golden that clones depend on is not removed by a
/// plain `incus delete` (Proxmox refuses to delete a template with linked
/// clones too). Its clones do not get it ([`TEMPLATE_ONLY`]).
pub const KEY_PROTECT_DELETE: &str = "security.protection.delete";

/// On a golden, `user.golden.clone.KEY=VALUE`: `KEY=VALUE` for each of its
/// clones (a setting meant for them that the golden itself must not have).
pub const KEY_FOR_CLONES: &str = "user.golden.clone.";

/// The columns of golden-ls, in order (its records' fields). On a narrow
/// terminal the table keeps which golden, when its pristine was made and how
/// many clones are stale; `snapshot` (always `pristine`) and `volumes` go first.
pub const GOLDEN_LS_COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("type", 3),
    col("status", 2),
    col("snapshot", 4),
    col("created_at", 1),
    col("pool", 3),
    col("driver", 3),
    col("cow", 2),
    col("volumes", 4),
    col("derived", 2),
    col("stale", 1),
    col("location", 3),
];

/// The properties of the images golden-refresh makes to rebuild from (one
/// per template pristine and clone project, removed once no clone needs it):
/// whose pristine it is, by uuid and `project/name`, and when it was made.
pub const IMAGE_TEMPLATE_UUID: &str = "golden.refresh.template_uuid";
pub const IMAGE_TEMPLATE: &str = "golden.refresh.template";
pub const IMAGE_CREATED_AT: &str = "golden.refresh.created_at";
/// The project of the clones it is for (the image itself is in `default`
/// when that project has no images of its own: `features.images=false`).
pub const IMAGE_FOR_PROJECT: &str = "golden.refresh.project";

/// The columns of `golden-ls --kept`, in order: one record per thing the
/// tools keep beside the goldens and clones (pre-refresh copies, refresh
/// images). `instance` is the copy's name, or the image's fingerprint.
pub const KEPT_COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("kind", 0),
    col("of", 1),
    col("created_at", 2),
    col("snapshots", 2),
    col("size", 3),
    col("location", 3),
];

/// The columns of golden-refresh, in order (its records' fields). On a
/// narrow terminal the table keeps which clone, what became of it, from which
/// template and which pristine; `restarted` and `snapshots` go first, then
/// `kept` (always CLONE-pre-refresh, or its shortened form), `identity` and
/// `from`.
pub const REFRESH_COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("template", 2),
    col("from", 3),
    col("to", 2),
    col("status", 0),
    col("identity", 3),
    col("kept", 3),
    col("snapshots", 4),
    col("restarted", 4),
];

/// The columns of `golden-ls --clones`, in order: one record per derived
/// instance. `project` and `instance` name the clone itself, so the records
/// feed the other tools as golden-ls's own do. On a narrow terminal the
/// table keeps which clone, of which template, and whether it is stale (the
/// answer it is asked for: never left out).
pub const CLONE_COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("template", 1),
    col("created_at", 2),
    col("stale", 0),
    col("generation", 1),
    col("revoked", 1),
    col("status", 2),
    col("location", 3),
    col("volumes", 4),
];

/// The columns of `golden-ls --generations`, in order: one record per
/// generation of a golden (its pristine and the ones kept before it). On a
/// narrow terminal the table keeps which golden, which generation, how many
/// clones came from it and whether it is revoked.
pub const GENERATION_COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("generation", 0),
    col("snapshot", 3),
    col("created_at", 1),
    col("current", 2),
    col("clones", 0),
    col("revoked", 1),
    col("location", 3),
];

/// One of the swap's temporary snapshots? By its name, and by the swap's
/// mark when the listing gives expiries (`None`: it does not — the pool
/// listing golden-ls reads — and the name alone decides).
pub fn is_swap_temporary(name: &str, expires_at: Option<&str>) -> bool {
    (name == PRISTINE_NEXT || name == PRISTINE_OLD) && expires_at.is_none_or(|e| e == SWAP_MARK)
}

/// The snapshot that stands for the golden's pristine state, among
/// `(name, created_at, expires_at)` (see [`is_swap_temporary`] for the expiry).
///
/// `pristine` if present. If a swap was interrupted after `pristine` was renamed away,
/// the swap's `-next` is the newest whole state (the daemon only names a snapshot once
/// it is whole), and its `-old` is the last resort. So a golden never disappears.
pub fn current_pristine<'a, I>(snapshots: I) -> Option<(&'a str, &'a str)>
where
    I: IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
{
    let mut best: Option<(usize, (&str, &str))> = None;
    for (name, created, expires) in snapshots {
        let rank = match name {
            PRISTINE => 0,
            _ if !is_swap_temporary(name, expires) => continue,
            PRISTINE_NEXT => 1,
            _ => 2,
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, (name, created)));
        }
    }
    best.map(|(_, s)| s)
}

/// Does copying an instance on this pool share blocks with its source (CoW)?
///
/// By driver, then by the pool options that turn cloning off.
pub fn pool_shares_blocks(driver: &str, config: &BTreeMap<String, String>) -> bool {
    let off = |key: &str| config.get(key).map(String::as_str) == Some("false");
    match driver {
        "btrfs" => true,
        "zfs" => !off("zfs.clone_copy"),
        "lvm" => !off("lvm.use_thinpool"),
        "ceph" => !off("ceph.rbd.clone_copy"),
        _ => false,
    }
}

/// Where a derived instance came from, read from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance<'a> {
    pub project: &'a str,
    pub template: &'a str,
    pub created_at: &'a str,
    /// Recorded since clones are counted by it (absent in older clones).
    pub template_uuid: Option<&'a str>,
}

impl<'a> Provenance<'a> {
    pub fn of(config: &'a BTreeMap<String, String>) -> Option<Self> {
        if config
            .get(KEY_PRE_REFRESH_OF)
            .is_some_and(|v| !v.is_empty())
        {
            return None;
        }
        Some(Provenance {
            project: config.get(KEY_PROJECT)?,
            template: config.get(KEY_TEMPLATE)?,
            created_at: config.get(KEY_CREATED_AT).map(String::as_str).unwrap_or(""),
            template_uuid: config
                .get(KEY_TEMPLATE_UUID)
                .map(String::as_str)
                .filter(|u| !u.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_named_pristine_g_n_and_read_back() {
        assert_eq!(generation_snapshot(7), "pristine.g7");
        assert_eq!(generation_of_snapshot("pristine.g7"), Some(7));
        assert_eq!(generation_of_snapshot("pristine.g12"), Some(12));
        for not in [
            "pristine",
            "pristine.g",
            "pristine.g07",
            "pristine.g-1",
            "pristine.gx",
            "snap.g1",
            PRISTINE_OLD,
        ] {
            assert_eq!(generation_of_snapshot(not), None, "{not}");
        }
        assert!(is_lifecycle_key("user.golden.revoked.3"));
        assert!(is_lifecycle_key(KEY_PROTECT_DELETE));
        assert!(!is_lifecycle_key("user.golden.clone.limits.cpu"));
    }

    #[test]
    fn pristine_wins_then_next_then_old() {
        let m = Some(SWAP_MARK);
        let all = [
            ("snap0", "t0", None),
            (PRISTINE_OLD, "t1", m),
            (PRISTINE_NEXT, "t2", m),
            (PRISTINE, "t3", Some(NEVER)),
        ];
        assert_eq!(current_pristine(all), Some((PRISTINE, "t3")));
        assert_eq!(
            current_pristine(all[..3].iter().copied()),
            Some((PRISTINE_NEXT, "t2"))
        );
        assert_eq!(
            current_pristine(all[..2].iter().copied()),
            Some((PRISTINE_OLD, "t1"))
        );
        assert_eq!(current_pristine(all[..1].iter().copied()), None);
        assert_eq!(current_pristine([("pristine2", "t", None)]), None);
        // No listed expiry: the name decides.
        assert_eq!(
            current_pristine([(PRISTINE_NEXT, "t4", None)]),
            Some((PRISTINE_NEXT, "t4"))
        );
    }

    #[test]
    fn snapshots_a_user_named_like_the_swap_are_not_its_own() {
        // Another expiry than the mark: the user's, never taken for a pristine.
        assert_eq!(current_pristine([(PRISTINE_NEXT, "t1", Some(NEVER))]), None);
        assert!(!is_swap_temporary("pristine-next", Some(SWAP_MARK)));
        assert!(!is_swap_temporary("pristine-old", None));
        assert!(is_swap_temporary(PRISTINE_OLD, Some(SWAP_MARK)));
    }

    #[test]
    fn cow_by_driver_and_options() {
        let none = BTreeMap::new();
        assert!(pool_shares_blocks("btrfs", &none));
        assert!(pool_shares_blocks("zfs", &none));
        assert!(pool_shares_blocks("lvm", &none));
        assert!(pool_shares_blocks("ceph", &none));
        assert!(!pool_shares_blocks("dir", &none));
        assert!(!pool_shares_blocks("cephfs", &none));
        let cfg = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(!pool_shares_blocks("zfs", &cfg("zfs.clone_copy", "false")));
        assert!(pool_shares_blocks("zfs", &cfg("zfs.clone_copy", "rebase")));
        assert!(!pool_shares_blocks(
            "lvm",
            &cfg("lvm.use_thinpool", "false")
        ));
        assert!(!pool_shares_blocks(
            "ceph",
            &cfg("ceph.rbd.clone_copy", "false")
        ));
    }

    #[test]
    fn provenance_needs_project_and_template() {
        let mut c = BTreeMap::new();
        assert_eq!(Provenance::of(&c), None);
        c.insert(KEY_PROJECT.into(), "pro".into());
        c.insert(KEY_TEMPLATE.into(), "pro-dev".into());
        let p = Provenance::of(&c).unwrap();
        assert_eq!(
            (p.project, p.template, p.created_at, p.template_uuid),
            ("pro", "pro-dev", "", None)
        );
        c.insert(KEY_TEMPLATE_UUID.into(), "u-1".into());
        assert_eq!(Provenance::of(&c).unwrap().template_uuid, Some("u-1"));
        // A clone's pre-refresh copy is none of its template's clones.
        c.insert(KEY_PRE_REFRESH_OF.into(), "c1".into());
        assert_eq!(Provenance::of(&c), None);
    }
}
