//! A clone's identity carried from its old root filesystem into a new one (a
//! refresh): the new root is a copy of the template's pristine, so it holds
//! the template's machine-id, host keys and hostname; the clone gets its own
//! back — the same machine-id, the same host keys (so every `known_hosts`
//! stays valid), the same hostname, the same cloud-init record (so
//! cloud-init does not take it for a new instance: see [`super::cloud`]) —
//! and, as a derive does, loses the template's DHCP leases and random seed.

use super::{
    cloud, own_identity, replace_word, survey, Files, Survey, CLOUD_INIT, DBUS_MACHINE_ID,
    DHCP_LEASES, ETC_HOSTNAME, ETC_HOSTS, ETC_MACHINE_ID, HOSTNAME, MACHINE_ID, RANDOM_SEED,
    RANDOM_SEED_FILE, SSH_HOST_KEYS,
};
use crate::incus::{InstanceFile, Perms};
use crate::Result;

/// Carries what `old` (the clone's old root, named `clone`) holds into `new`
/// (a fresh copy of `template`'s pristine); returns the categories carried or
/// cleared, in the `identity` column's order.
pub fn carry(
    old: &dyn Files,
    new: &dyn Files,
    (template, clone): (&str, &str),
) -> Result<Vec<&'static str>> {
    // Its ids and keys only: its hostname is read below, whatever it names,
    // and its leases and seed stay in the old root.
    let was = own_identity(old)?;
    let now = survey(new, template)?;
    let mut done = Vec::new();

    let mut ids = false;
    for (path, old_f, new_f) in [
        (ETC_MACHINE_ID, &was.machine_id, &now.machine_id),
        (DBUS_MACHINE_ID, &was.dbus_id, &now.dbus_id),
    ] {
        match (old_f, new_f) {
            (Some(o), n) => {
                new.replace(path, &o.content, perms(o), n.as_ref())?;
                ids = true;
            }
            // The clone had none of its own (left for systemd): neither
            // does it keep the template's. systemd reads "uninitialized" as
            // "make one at boot"; D-Bus falls back to /etc/machine-id.
            (None, Some(n)) if path == ETC_MACHINE_ID => {
                new.replace(path, b"uninitialized\n", perms(n), Some(n))?;
                ids = true;
            }
            (None, Some(_)) => {
                new.delete(path)?;
                ids = true;
            }
            (None, None) => {}
        }
    }
    if ids {
        done.push(MACHINE_ID);
    }

    if carry_keys(&was, &now, new)? {
        done.push(SSH_HOST_KEYS);
    }

    let mut named = false;
    // Whatever it names (a user may have renamed the machine): it is the clone's.
    let old_hostname = old.read(ETC_HOSTNAME)?.filter(InstanceFile::is_file);
    if let Some(o) = &old_hostname {
        let current = new.read(ETC_HOSTNAME)?;
        new.replace(ETC_HOSTNAME, &o.content, perms(o), current.as_ref())?;
        named = true;
    } else if let Some(n) = &now.hostname {
        new.replace(
            ETC_HOSTNAME,
            format!("{clone}\n").as_bytes(),
            perms(n),
            Some(n),
        )?;
        named = true;
    }
    if let Some(f) = &now.hosts {
        if let Some(text) = replace_word(&f.text(), template, clone) {
            new.replace(ETC_HOSTS, text.as_bytes(), perms(f), Some(f))?;
            named = true;
        }
    }
    if named {
        done.push(HOSTNAME);
    }
    if cloud::carry(old, new)? {
        done.push(CLOUD_INIT);
    }

    for lease in &now.leases {
        new.delete(lease)?;
    }
    if !now.leases.is_empty() {
        done.push(DHCP_LEASES);
    }
    if now.random_seed {
        new.delete(RANDOM_SEED_FILE)?;
        done.push(RANDOM_SEED);
    }
    Ok(done)
}

/// The template's host keys out, the clone's own in, each with its owner and
/// mode. Returns whether anything changed.
fn carry_keys(was: &Survey, now: &Survey, new: &dyn Files) -> Result<bool> {
    let mut changed = false;
    for k in &now.keys {
        if !was.keys.iter().any(|o| o.path == k.path) {
            new.delete(&k.path)?;
            new.delete(&format!("{}.pub", k.path))?;
            changed = true;
        }
    }
    for k in &was.keys {
        let there = now.keys.iter().find(|n| n.path == k.path);
        new.replace(
            &k.path,
            &k.private.content,
            perms(&k.private),
            there.map(|n| &n.private),
        )?;
        let public_path = format!("{}.pub", k.path);
        match &k.public {
            Some(p) => new.replace(
                &public_path,
                &p.content,
                perms(p),
                there.and_then(|n| n.public.as_ref()),
            )?,
            None => {
                new.delete(&public_path)?;
            }
        }
        changed = true;
    }
    Ok(changed)
}

fn perms(f: &InstanceFile) -> Perms {
    Perms {
        uid: f.uid,
        gid: f.gid,
        mode: f.mode,
    }
}
