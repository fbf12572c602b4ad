//! What a golden is: an instance with a `pristine` snapshot, and what follows from it.

use std::collections::BTreeMap;

/// The snapshot that makes an instance a golden.
pub const PRISTINE: &str = "pristine";
/// While `golden-create` replaces `pristine`, the new one is made under this name first...
pub const PRISTINE_NEXT: &str = "pristine-next";
/// ...and the old one is set aside under this name until the new one is in place.
pub const PRISTINE_OLD: &str = "pristine-old";

/// Config keys a derived instance carries to say where it came from.
pub const KEY_PROJECT: &str = "user.golden.project";
pub const KEY_TEMPLATE: &str = "user.golden.template";
pub const KEY_CREATED_AT: &str = "user.golden.created_at";

/// The columns of golden-ls, in order (its records' fields).
pub const GOLDEN_LS_COLUMNS: &[&str] = &[
    "project",
    "instance",
    "type",
    "status",
    "snapshot",
    "created_at",
    "pool",
    "driver",
    "cow",
    "volumes",
    "derived",
    "stale",
    "location",
];

/// The snapshot that stands for the golden's pristine state, among `(name, created_at)`.
///
/// `pristine` if present. If a swap was interrupted after `pristine` was renamed away,
/// `pristine-next` is the newest complete state (the daemon only names a snapshot once
/// it is whole), and `pristine-old` is the last resort. So a golden never disappears.
pub fn current_pristine<'a, I>(snapshots: I) -> Option<(&'a str, &'a str)>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut best: Option<(usize, (&str, &str))> = None;
    for (name, created) in snapshots {
        let rank = match name {
            PRISTINE => 0,
            PRISTINE_NEXT => 1,
            PRISTINE_OLD => 2,
            _ => continue,
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
}

impl<'a> Provenance<'a> {
    pub fn of(config: &'a BTreeMap<String, String>) -> Option<Self> {
        Some(Provenance {
            project: config.get(KEY_PROJECT)?,
            template: config.get(KEY_TEMPLATE)?,
            created_at: config.get(KEY_CREATED_AT).map(String::as_str).unwrap_or(""),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pristine_wins_then_next_then_old() {
        let all = [
            ("snap0", "t0"),
            (PRISTINE_OLD, "t1"),
            (PRISTINE_NEXT, "t2"),
            (PRISTINE, "t3"),
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
        assert_eq!(current_pristine([("pristine2", "t")]), None);
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
            (p.project, p.template, p.created_at),
            ("pro", "pro-dev", "")
        );
    }
}
