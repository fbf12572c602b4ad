//! What an instance is, as another machine would tell it apart: its
//! machine-id and the fingerprints of its SSH host keys; and which instances
//! share any of them (copies made by hand, or from an image published before
//! a golden had identity templates: lxd issue 15117).

use std::collections::{BTreeMap, BTreeSet};

use ssh_key::{HashAlg, PublicKey};

use super::{real_id, Files, ETC_MACHINE_ID, SSH_DIR};
use crate::incus::InstanceFile;
use crate::Result;

/// One instance's identity as read from its root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// `/etc/machine-id` when it holds an id.
    pub machine_id: Option<String>,
    /// SHA256 fingerprints of `/etc/ssh/ssh_host_*_key.pub`, sorted.
    pub host_keys: Vec<String>,
}

/// Reads `files`' machine-id and host key fingerprints.
pub fn seen(files: &dyn Files) -> Result<Seen> {
    let mut s = Seen::default();
    if let Some(f) = files.read(ETC_MACHINE_ID)?.filter(InstanceFile::is_file) {
        if real_id(&f.content) {
            s.machine_id = Some(f.text().trim().to_string());
        }
    }
    if let Some(dir) = files.read(SSH_DIR)? {
        for name in dir
            .entries
            .iter()
            .filter(|n| n.starts_with("ssh_host_") && n.ends_with("_key.pub"))
        {
            let Some(f) = files
                .read(&format!("{SSH_DIR}/{name}"))?
                .filter(InstanceFile::is_file)
            else {
                continue;
            };
            if let Ok(key) = PublicKey::from_openssh(f.text().trim()) {
                s.host_keys
                    .push(key.fingerprint(HashAlg::Sha256).to_string());
            }
        }
    }
    s.host_keys.sort();
    Ok(s)
}

/// For each instance (by its index), the others that share its machine-id or
/// one of its host keys.
pub fn shared<'a>(all: impl IntoIterator<Item = &'a Seen>) -> Vec<BTreeSet<usize>> {
    let all: Vec<&Seen> = all.into_iter().collect();
    let mut holders: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in all.iter().enumerate() {
        let marks = s.machine_id.iter().chain(&s.host_keys);
        // An id and a key never collide: a key's text starts with "SHA256:".
        for mark in marks.collect::<BTreeSet<_>>() {
            holders.entry(mark).or_default().push(i);
        }
    }
    let mut out = vec![BTreeSet::new(); all.len()];
    for group in holders.values().filter(|g| g.len() > 1) {
        for &i in group {
            out[i].extend(group.iter().copied().filter(|&j| j != i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: Option<&str>, keys: &[&str]) -> Seen {
        Seen {
            machine_id: id.map(str::to_string),
            host_keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn instances_sharing_an_id_or_a_key_are_named_both_ways() {
        let all = [
            s(Some("a"), &["SHA256:k1"]),
            s(Some("a"), &["SHA256:k2"]),
            s(Some("b"), &["SHA256:k2", "SHA256:k3"]),
            s(Some("c"), &["SHA256:k4"]),
            s(None, &[]),
            s(None, &[]),
        ];
        let sh = shared(&all);
        let set = |v: &[usize]| v.iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(sh[0], set(&[1]), "the same machine-id");
        assert_eq!(sh[1], set(&[0, 2]), "an id with one, a key with another");
        assert_eq!(sh[2], set(&[1]));
        assert!(sh[3].is_empty());
        assert!(
            sh[4].is_empty() && sh[5].is_empty(),
            "nothing is not shared"
        );
    }
}
