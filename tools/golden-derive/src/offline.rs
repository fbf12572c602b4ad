//! Cluster members that are down. The daemon answers "Server isn't ready yet"
//! for anything on them, so the templates there are told apart before anything
//! is read of them, and placement deals no clone to such a member.

use std::collections::BTreeMap;

use golden::incus::ClusterMember;
use golden::target::Target;
use golden::Error;

use crate::input::{NewName, Request};

/// Offline members (anything but Online: Offline, Evacuated, Blocked...) and why.
pub fn offline(members: &[ClusterMember]) -> BTreeMap<String, String> {
    members
        .iter()
        .filter(|m| !m.is_online())
        .map(|m| (m.server_name.clone(), m.describe()))
        .collect()
}

/// Templates on a member that is not online, as [`golden::target::locate`]
/// found them: their clones are refused, each naming the member; the other
/// templates go on, re-indexed (a request points into the templates).
pub fn on_offline_members(
    targets: Vec<Target>,
    requests: Vec<Request>,
) -> (Vec<Target>, Vec<Request>, Vec<Error>) {
    let mut keep = Vec::new();
    let mut index = Vec::with_capacity(targets.len());
    let mut gone = BTreeMap::new();
    for (i, t) in targets.into_iter().enumerate() {
        match t.offline_member() {
            Some(m) => {
                gone.insert(i, (t.name.clone(), m.clone()));
                index.push(None);
            }
            None => {
                index.push(Some(keep.len()));
                keep.push(t);
            }
        }
    }
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for r in requests {
        match index[r.template] {
            Some(ti) => kept.push(Request { template: ti, ..r }),
            None => {
                let (template, m) = &gone[&r.template];
                let new = match &r.new {
                    NewName::Given(n) => n.clone(),
                    NewName::Numbered => format!("a clone of {template}"),
                };
                refused.push(Error::failed(format!(
                    "{new}: template {template} is on cluster member {}, which is {}",
                    m.name, m.state
                )));
            }
        }
    }
    (keep, kept, refused)
}

#[cfg(test)]
mod tests {
    use golden::record::{Origin, Record};
    use golden::target::Member;

    use super::*;

    fn target(name: &str, member: &str, online: bool) -> Target {
        Target {
            remote: None,
            project: "p".into(),
            name: name.into(),
            record: Record::named(Origin::Argument, name),
            member: Some(Member {
                name: member.into(),
                online,
                state: if online { "online" } else { "offline" }.into(),
            }),
        }
    }

    #[test]
    fn clones_of_a_template_on_a_member_down_are_refused_the_others_reindexed() {
        let targets = vec![
            target("t3", "m3", false),
            target("t1", "m1", true),
            target("t2", "m3", false),
        ];
        let requests = vec![
            Request {
                template: 0,
                new: NewName::Given("a3".into()),
            },
            Request {
                template: 1,
                new: NewName::Given("a1".into()),
            },
            Request {
                template: 2,
                new: NewName::Numbered,
            },
        ];
        let (kept, asked, refused) = on_offline_members(targets, requests);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].name, "t1");
        assert_eq!(
            asked,
            [Request {
                template: 0,
                new: NewName::Given("a1".into())
            }]
        );
        let said: Vec<String> = refused.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            said,
            [
                "a3: template t3 is on cluster member m3, which is offline",
                "a clone of t2: template t2 is on cluster member m3, which is offline",
            ]
        );
    }
}
