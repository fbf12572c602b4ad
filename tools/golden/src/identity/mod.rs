//! Every clone its own machine: what in a root filesystem makes a machine
//! someone (its machine-id, SSH host keys, hostname) or leaks between machines
//! (DHCP leases, the random seed), surveyed through the daemon's files API.
//!
//! A survey is read once per pristine snapshot copied (from the first clone
//! made of it: what the clones really hold), and [`reset()`] applies it to
//! each clone. A dry run surveys the template itself.

use crate::incus::{FileKind, Incus, InstanceFile, Perms};
use crate::Result;

mod carry;
pub mod cloud;
pub mod keys;
mod reset;
mod seen;
pub mod templates;

pub use carry::carry;
pub use keys::{KeyKind, KeyPool};
pub use reset::{column, reset};
pub use seen::{seen, shared, Seen};

/// The categories of the `identity` column, in its order.
pub const MACHINE_ID: &str = "machine-id";
pub const SSH_HOST_KEYS: &str = "ssh-host-keys";
pub const HOSTNAME: &str = "hostname";
pub const DHCP_LEASES: &str = "dhcp-leases";
pub const RANDOM_SEED: &str = "random-seed";
/// cloud-init's record of which instance it is (carried by a refresh only).
pub const CLOUD_INIT: &str = "cloud-init";

pub const ETC_MACHINE_ID: &str = "/etc/machine-id";
pub const DBUS_MACHINE_ID: &str = "/var/lib/dbus/machine-id";
pub const SSH_DIR: &str = "/etc/ssh";
pub const ETC_HOSTNAME: &str = "/etc/hostname";
pub const ETC_HOSTS: &str = "/etc/hosts";
pub const RANDOM_SEED_FILE: &str = "/var/lib/systemd/random-seed";

/// Where DHCP clients keep leases (dhclient, systemd-networkd, NetworkManager,
/// dhcpcd), and which of their files are leases (or a client identity).
pub(super) const LEASE_DIRS: &[(&str, &[&str])] = &[
    ("/var/lib/dhcp", &[".leases", ".lease"]),
    ("/var/lib/dhclient", &[".leases", ".lease"]),
    ("/run/systemd/netif/leases", &[""]),
    ("/var/lib/NetworkManager", &[".lease"]),
    ("/var/lib/dhcpcd", &[".lease", ".lease6", "duid"]),
    ("/var/db/dhcpcd", &[".lease", ".lease6", "duid"]),
];

/// Files of one instance, through the daemon.
pub trait Files {
    fn read(&self, path: &str) -> Result<Option<InstanceFile>>;
    /// Writes with exactly `perms` (removing a file of other owner or mode first).
    fn replace(
        &self,
        path: &str,
        content: &[u8],
        perms: Perms,
        old: Option<&InstanceFile>,
    ) -> Result<()>;
    fn delete(&self, path: &str) -> Result<bool>;
    /// Makes the directory `path` (its parent exists).
    fn make_dir(&self, path: &str, perms: Perms) -> Result<()>;
    /// Makes `path` a symlink to `target`.
    fn make_symlink(&self, path: &str, target: &str) -> Result<()>;
}

/// An instance's files through the files API.
pub struct InInstance<'a> {
    pub incus: &'a Incus,
    pub project: &'a str,
    pub name: &'a str,
}

impl Files for InInstance<'_> {
    fn read(&self, path: &str) -> Result<Option<InstanceFile>> {
        self.incus.read_file(self.project, self.name, path)
    }
    fn replace(
        &self,
        path: &str,
        content: &[u8],
        perms: Perms,
        old: Option<&InstanceFile>,
    ) -> Result<()> {
        self.incus
            .replace_file(self.project, self.name, path, content, perms, old)
    }
    fn delete(&self, path: &str) -> Result<bool> {
        self.incus.delete_file(self.project, self.name, path)
    }
    fn make_dir(&self, path: &str, perms: Perms) -> Result<()> {
        self.incus.make_dir(self.project, self.name, path, perms)
    }
    fn make_symlink(&self, path: &str, target: &str) -> Result<()> {
        self.incus
            .make_symlink(self.project, self.name, path, target)
    }
}

/// One SSH host key pair of the template.
#[derive(Debug, Clone)]
pub struct HostKey {
    pub path: String,
    pub kind: Option<KeyKind>,
    pub private: InstanceFile,
    pub public: Option<InstanceFile>,
}

/// What a root filesystem holds of a machine's identity.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// `/etc/machine-id` when it holds a real id (not empty, not `uninitialized`).
    pub machine_id: Option<InstanceFile>,
    /// `/etc/machine-id` exists but is empty or `uninitialized`: left for systemd.
    pub machine_id_unset: bool,
    /// `/var/lib/dbus/machine-id` when it is a regular file.
    pub dbus_id: Option<InstanceFile>,
    pub dbus_is_symlink: bool,
    pub keys: Vec<HostKey>,
    /// `/etc/hostname` when it names the template; else what it names.
    pub hostname: Option<InstanceFile>,
    pub other_hostname: Option<String>,
    /// `/etc/hosts` when it names the template as a whole word.
    pub hosts: Option<InstanceFile>,
    pub leases: Vec<String>,
    pub random_seed: bool,
}

/// Is this a machine-id systemd would keep (32 hex digits)?
pub fn real_id(content: &[u8]) -> bool {
    let t = String::from_utf8_lossy(content);
    let t = t.trim();
    t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads what `files` holds; `template` is the name the hostname files may hold.
pub fn survey(files: &dyn Files, template: &str) -> Result<Survey> {
    let mut s = own_identity(files)?;
    survey_names_and_leftovers(files, template, &mut s)?;
    Ok(s)
}

/// What makes a machine someone: its ids and host keys (what a refresh
/// carries; the rest of a survey is read in the new root only).
pub fn own_identity(files: &dyn Files) -> Result<Survey> {
    let mut s = Survey::default();
    if let Some(f) = files.read(ETC_MACHINE_ID)?.filter(InstanceFile::is_file) {
        if real_id(&f.content) {
            s.machine_id = Some(f);
        } else {
            s.machine_id_unset = true;
        }
    }
    match files.read(DBUS_MACHINE_ID)? {
        Some(f) if f.kind == FileKind::Symlink => s.dbus_is_symlink = true,
        Some(f) if f.is_file() && real_id(&f.content) => s.dbus_id = Some(f),
        _ => {}
    }
    if let Some(dir) = files.read(SSH_DIR)? {
        let mut names: Vec<&String> = dir
            .entries
            .iter()
            .filter(|n| n.starts_with("ssh_host_") && n.ends_with("_key"))
            .collect();
        names.sort();
        for name in names {
            let path = format!("{SSH_DIR}/{name}");
            let Some(private) = files.read(&path)?.filter(InstanceFile::is_file) else {
                continue;
            };
            let public = files
                .read(&format!("{path}.pub"))?
                .filter(InstanceFile::is_file);
            let kind = public
                .as_ref()
                .and_then(|p| KeyKind::of_public(&p.text()))
                .or_else(|| KeyKind::of_private(&private.content))
                .or_else(|| KeyKind::of_file_name(name));
            s.keys.push(HostKey {
                path,
                kind,
                private,
                public,
            });
        }
    }
    Ok(s)
}

/// The hostname files naming `template`, the leases and the random seed.
fn survey_names_and_leftovers(files: &dyn Files, template: &str, s: &mut Survey) -> Result<()> {
    if let Some(f) = files.read(ETC_HOSTNAME)?.filter(InstanceFile::is_file) {
        let named = f.text().trim().to_string();
        if named == template {
            s.hostname = Some(f);
        } else if !named.is_empty() {
            s.other_hostname = Some(named);
        }
    }
    if let Some(f) = files.read(ETC_HOSTS)?.filter(InstanceFile::is_file) {
        if replace_word(&f.text(), template, "").is_some() {
            s.hosts = Some(f);
        }
    }
    for (dir, endings) in LEASE_DIRS {
        let Some(d) = files.read(dir)?.filter(|d| d.kind == FileKind::Directory) else {
            continue;
        };
        for name in &d.entries {
            if endings.iter().any(|e| name.ends_with(e)) {
                s.leases.push(format!("{dir}/{name}"));
            }
        }
    }
    s.random_seed = files.read(RANDOM_SEED_FILE)?.is_some_and(|f| f.is_file());
    Ok(())
}

impl Survey {
    /// What a reset changes, in the column's order.
    pub fn categories(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.machine_id.is_some() || self.dbus_id.is_some() {
            out.push(MACHINE_ID);
        }
        if !self.keys.is_empty() {
            out.push(SSH_HOST_KEYS);
        }
        if self.hostname.is_some() || self.hosts.is_some() {
            out.push(HOSTNAME);
        }
        if !self.leases.is_empty() {
            out.push(DHCP_LEASES);
        }
        if self.random_seed {
            out.push(RANDOM_SEED);
        }
        out
    }

    /// The identity files it holds, one phrase each (for `-n`).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.machine_id, self.machine_id_unset) {
            (Some(_), _) => out.push(format!("{ETC_MACHINE_ID} (an id: new one)")),
            (None, true) => out.push(format!("{ETC_MACHINE_ID} (unset: left for systemd)")),
            _ => {}
        }
        if self.dbus_id.is_some() {
            out.push(format!("{DBUS_MACHINE_ID} (a file: the same new id)"));
        } else if self.dbus_is_symlink {
            out.push(format!("{DBUS_MACHINE_ID} (a symlink: left)"));
        }
        for k in &self.keys {
            let kind = k
                .kind
                .map_or("unknown kind: removed".into(), |k| k.to_string());
            out.push(format!("{} ({kind})", k.path));
        }
        if self.hostname.is_some() {
            out.push(format!("{ETC_HOSTNAME} (the template's name)"));
        } else if let Some(n) = &self.other_hostname {
            out.push(format!("{ETC_HOSTNAME} (names {n}: left)"));
        }
        if self.hosts.is_some() {
            out.push(format!("{ETC_HOSTS} (names the template)"));
        }
        out.extend(self.leases.iter().map(|l| format!("{l} (removed)")));
        if self.random_seed {
            out.push(format!("{RANDOM_SEED_FILE} (removed)"));
        }
        out
    }
}

/// `text` with every whole-word `from` (a word: letters, digits, `-`, `_`)
/// made `to`; `None` if there is none.
pub fn replace_word(text: &str, from: &str, to: &str) -> Option<String> {
    if from.is_empty() {
        return None;
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(from) {
        let before = text[..i].chars().next_back();
        let after = text[i + from.len()..].chars().next();
        if before.is_some_and(word) || after.is_some_and(word) {
            continue;
        }
        out.push_str(&text[last..i]);
        out.push_str(to);
        last = i + from.len();
    }
    let found = last > 0;
    out.push_str(&text[last..]);
    found.then_some(out)
}

/// A new random machine-id: 128 bits as systemd makes them (a v4 UUID's bits).
pub fn new_machine_id() -> String {
    let mut b = [0u8; 16];
    ssh_key::rand_core::RngCore::fill_bytes(&mut ssh_key::rand_core::OsRng, &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests;
