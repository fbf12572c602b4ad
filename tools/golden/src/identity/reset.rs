//! A clone's identity reset, before it is ever started: the files a
//! [`Survey`] found, each written anew through the daemon's files API with its
//! owner and mode (private keys 0600, public ones 0644), or removed.

use crate::incus::Perms;
use crate::Result;

use super::keys::{self, KeyPool};
use super::{
    new_machine_id, replace_word, Files, Survey, DBUS_MACHINE_ID, ETC_HOSTNAME, ETC_HOSTS,
    ETC_MACHINE_ID, RANDOM_SEED_FILE,
};

/// Resets `clone` (a copy of `template` holding what `s` surveyed); returns
/// the categories reset, in the column's order.
pub fn reset(
    files: &dyn Files,
    s: &Survey,
    (template, clone): (&str, &str),
    pool: &KeyPool,
) -> Result<Vec<&'static str>> {
    let same = |f: &crate::incus::InstanceFile| Perms {
        uid: f.uid,
        gid: f.gid,
        mode: f.mode,
    };
    let id = format!("{}\n", new_machine_id());
    if let Some(f) = &s.machine_id {
        files.replace(ETC_MACHINE_ID, id.as_bytes(), same(f), Some(f))?;
    }
    if let Some(f) = &s.dbus_id {
        files.replace(DBUS_MACHINE_ID, id.as_bytes(), same(f), Some(f))?;
    }
    if let Some(f) = &s.hostname {
        files.replace(
            ETC_HOSTNAME,
            format!("{clone}\n").as_bytes(),
            same(f),
            Some(f),
        )?;
    }
    if let Some(f) = &s.hosts {
        if let Some(text) = replace_word(&f.text(), template, clone) {
            files.replace(ETC_HOSTS, text.as_bytes(), same(f), Some(f))?;
        }
    }
    for lease in &s.leases {
        files.delete(lease)?;
    }
    if s.random_seed {
        files.delete(RANDOM_SEED_FILE)?;
    }
    // Last: an RSA key may still be in the making.
    for k in &s.keys {
        let public_path = format!("{}.pub", k.path);
        let Some(kind) = k.kind else {
            // A kind we cannot make (DSA, say): no clone keeps the template's.
            files.delete(&k.path)?;
            files.delete(&public_path)?;
            continue;
        };
        let key = pool.take(kind)?;
        let (private, public) = keys::files(key, &format!("root@{clone}"))?;
        let owner = |f: &crate::incus::InstanceFile, mode| Perms {
            uid: f.uid,
            gid: f.gid,
            mode,
        };
        files.replace(
            &k.path,
            &private,
            owner(&k.private, 0o600),
            Some(&k.private),
        )?;
        let public_owner = k.public.as_ref().unwrap_or(&k.private);
        files.replace(
            &public_path,
            &public,
            owner(public_owner, 0o644),
            k.public.as_ref(),
        )?;
    }
    Ok(s.categories())
}

/// The column's text for what was reset.
pub fn column(categories: &[&str]) -> String {
    if categories.is_empty() {
        "-".into()
    } else {
        categories.join(",")
    }
}
