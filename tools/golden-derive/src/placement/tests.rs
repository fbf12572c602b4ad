//! Placement over API answers: Incus 6.0's `/1.0/cluster/members` and pool
//! objects, including a shared (Ceph) pool, which cannot run here.

use super::*;
use serde_json::json;

fn members(statuses: &[(&str, &str)]) -> Vec<ClusterMember> {
    statuses
        .iter()
        .map(|(name, status)| {
            serde_json::from_value(json!({
                "server_name": name, "url": format!("https://10.0.0.1/{name}"),
                "status": status,
                "message": if *status == "Online" { "Fully operational" } else { "No heartbeat for 12s" },
            }))
            .unwrap()
        })
        .collect()
}

fn pool(driver: &str, locations: &[&str]) -> StoragePool {
    serde_json::from_value(json!({"name": "local", "driver": driver, "locations": locations}))
        .unwrap()
}

fn deal(
    how: PlacementChoice,
    member: Option<&str>,
    p: &StoragePool,
    m: &[ClusterMember],
    n: usize,
) -> Vec<String> {
    let of = [Of {
        name: "tpl",
        member,
        pool: p,
    }];
    let mut pl = Placement::new(&how, m, &of).unwrap();
    (0..n).map(|_| pl.next(0).unwrap_or_default()).collect()
}

#[test]
fn clones_stay_beside_their_template_by_default() {
    let m = members(&[("m1", "Online"), ("m2", "Online"), ("m3", "Online")]);
    let p = pool("btrfs", &["m1", "m2", "m3"]);
    assert_eq!(
        deal(PlacementChoice::Beside, Some("m2"), &p, &m, 3),
        ["m2", "m2", "m2"]
    );
    // A standalone server: no member at all.
    let of = [Of {
        name: "tpl",
        member: None,
        pool: &p,
    }];
    let mut pl = Placement::new(&PlacementChoice::Beside, &[], &of).unwrap();
    assert_eq!(pl.next(0), None);
}

#[test]
fn a_spread_deals_round_robin_from_the_template_member_over_online_members_with_the_pool() {
    let m = members(&[
        ("m1", "Online"),
        ("m2", "Online"),
        ("m3", "Online"),
        ("m4", "Online"),
    ]);
    let p = pool("btrfs", &["m1", "m2", "m3"]);
    assert_eq!(
        deal(PlacementChoice::Spread, Some("m2"), &p, &m, 7),
        ["m2", "m3", "m1", "m2", "m3", "m1", "m2"]
    );
    let m = members(&[("m1", "Online"), ("m2", "Online"), ("m3", "Offline")]);
    assert_eq!(
        deal(PlacementChoice::Spread, Some("m1"), &p, &m, 4),
        ["m1", "m2", "m1", "m2"]
    );
}

#[test]
fn target_must_name_a_member_with_the_pool_and_needs_a_cluster() {
    let m = members(&[("m1", "Online"), ("m2", "Online")]);
    let p = pool("btrfs", &["m1"]);
    let of = [Of {
        name: "tpl",
        member: Some("m1"),
        pool: &p,
    }];
    let e = Placement::new(&PlacementChoice::Target("m9".into()), &m, &of).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("members: m1, m2"), "{e}");
    let e = Placement::new(&PlacementChoice::Target("m2".into()), &m, &of).unwrap_err();
    assert!(e.to_string().contains("has no pool local"), "{e}");
    let e = Placement::new(&PlacementChoice::Spread, &[], &of).unwrap_err();
    assert!(e.to_string().contains("not a cluster"), "{e}");
    // An offline target is planned (its clones are refused one by one, naming it).
    let m = members(&[("m1", "Online"), ("m2", "Offline")]);
    let p = pool("btrfs", &["m1", "m2"]);
    let of = [Of {
        name: "tpl",
        member: Some("m1"),
        pool: &p,
    }];
    let mut pl = Placement::new(&PlacementChoice::Target("m2".into()), &m, &of).unwrap();
    assert_eq!(pl.next(0).as_deref(), Some("m2"));
    assert!(
        pl.offline["m2"].starts_with("offline: No heartbeat"),
        "{:?}",
        pl.offline
    );
}

#[test]
fn only_a_copy_across_members_on_local_storage_is_a_full_copy() {
    let local = pool("btrfs", &["m1", "m2"]);
    // Incus 6.0 lists a Ceph pool's members too; it is one pool for all of them.
    let ceph = pool("ceph", &["m1", "m2"]);
    assert!(crosses(Some("m1"), Some("m2"), &local));
    assert!(!crosses(Some("m1"), Some("m1"), &local));
    assert!(!crosses(Some("m1"), Some("m2"), &ceph));
    assert!(!crosses(None, None, &local));
    assert!(golden::model::pool_shares_blocks(
        &ceph.driver,
        &ceph.config
    ));
    // Outside a cluster the daemon says "none": every member has the pool.
    assert!(pool("dir", &["none"]).on_member("anything"));
}
