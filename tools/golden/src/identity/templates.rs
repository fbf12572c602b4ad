//! Every route from a golden gives a machine of its own: the identity is
//! renewed by Incus's own instance templates, written into the golden's
//! metadata when its pristine is made, never by work per clone.
//!
//! The daemon renders a template whose `when` holds the trigger recorded in
//! `volatile.apply_template` at the instance's next start: `copy` (golden-derive,
//! `incus copy T/pristine X`, a copy of a clone, a copy to another member),
//! `create` (`incus launch` of a published image). The golden itself never
//! gets a trigger, so its own files are never rendered: it keeps its identity.
//! What a template renders:
//! - `/etc/machine-id` (and a `/var/lib/dbus/machine-id` file): the
//!   instance's `volatile.uuid` without its dashes, a valid id of its own that
//!   a rebuild or a move keeps (no systemd "first boot": that would apply unit
//!   presets and undo what the admin enabled or disabled);
//! - `/etc/hostname` and `/etc/hosts`: the instance's name;
//! - DHCP client leases: emptied;
//! - a marker that makes a oneshot unit, installed in the golden's root
//!   filesystem with it, renew at that first boot every SSH host key sshd
//!   reads (its `HostKey`s, included files too, a symlink resolved inside the
//!   guest's own root), before sshd starts. Host keys cannot be a template:
//!   they must be random, and a key made per clone by the tool costs what a
//!   copy costs many times over (RSA).
//!
//! See docs/identity-by-every-route.md for what was verified and measured.

use serde_json::{json, Map, Value};

use crate::incus::{FileKind, Incus, InstanceFile, Perms};
use crate::Result;

use super::{
    replace_word, Files, DBUS_MACHINE_ID, DHCP_LEASES, ETC_HOSTNAME, ETC_HOSTS, ETC_MACHINE_ID,
    HOSTNAME, LEASE_DIRS, MACHINE_ID, SSH_HOST_KEYS,
};

/// Our template files are named so (others' are left as they are).
const PREFIX: &str = "golden-";
const MACHINE_ID_TPL: &str = "golden-machine-id.tpl";
const DBUS_ID_TPL: &str = "golden-dbus-machine-id.tpl";
const HOSTNAME_TPL: &str = "golden-hostname.tpl";
const HOSTS_TPL: &str = "golden-hosts.tpl";
const LEASE_TPL: &str = "golden-lease.tpl";
const MARKER_TPL: &str = "golden-renew-ssh-keys.tpl";

/// The marker the daemon renders in a new instance; the unit runs while it is there.
pub const MARKER: &str = "/etc/golden/renew-ssh-keys";
const RENEWER: &str = "/usr/local/sbin/golden-renew-ssh-keys";
const UNIT: &str = "/etc/systemd/system/golden-renew-ssh-keys.service";
const WANTS: &str = "/etc/systemd/system/multi-user.target.wants/golden-renew-ssh-keys.service";
const SSHD_CONFIG: &str = "/etc/ssh/sshd_config";
const SYSTEMD_DIR: &str = "/etc/systemd/system";

/// A trigger no template lists: set in place of the daemon's on an instance
/// whose identity must not be renewed (`--keep-identity`, a refreshed clone
/// that carries its own), the daemon clears it at the next start and renders
/// nothing. Unset instead, a never-started copy would look cut short (see
/// golden-derive's `half_made`).
pub const TRIGGER_NONE: &str = "golden-identity-kept";

/// The trigger an instance's templates still wait for (see
/// [`crate::model::KEY_REFRESH_TRIGGER`]): none once it started, nor
/// [`TRIGGER_NONE`].
pub fn pending_trigger(config: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    config
        .get("volatile.apply_template")
        .map(String::as_str)
        .filter(|t| !t.is_empty() && *t != TRIGGER_NONE)
}

const RENEWER_SCRIPT: &str = r#"#!/bin/sh
# Installed by golden-create. Runs at the first boot of an instance made from a
# golden (copied, or launched from its image: Incus renders the marker from the
# golden's templates then), never on the golden itself: renews every SSH host
# key sshd reads, same type and size, at the path sshd reads (a symlink is
# resolved inside this system's own root), then removes the marker.
set -eu
install -d -m 0755 /run/sshd    # sshd -T needs it; nothing made it yet
config=$(sshd -T)               # a failure fails the unit: the marker stays
n=0
for k in $(printf '%s\n' "$config" | awk '$1 == "hostkey" {print $2}'); do
    f=$(readlink -f "$k") || continue
    [ -f "$f" ] || continue
    if info=$(ssh-keygen -lf "$f" 2>/dev/null); then
        set -- $info
        bits=$1
        type=$(printf '%s' "$4" | tr -d '()' | tr 'A-Z' 'a-z')
    else
        bits=0 type=unknown
    fi
    rm -f "$f" "$f.pub"
    case $type in
    rsa | ecdsa | ed25519)
        ssh-keygen -q -N '' -t "$type" -b "$bits" -C "root@$(hostname)" -f "$f"
        n=$((n + 1)) ;;
    *) echo "removed $f: no new key of its kind ($type) is made" ;;
    esac
done
echo "renewed $n SSH host keys"
rm -f /etc/golden/renew-ssh-keys
"#;

const RENEWER_UNIT: &str = "[Unit]
Description=New SSH host keys for a new instance of a golden image
Documentation=man:golden-create(1)
ConditionPathExists=/etc/golden/renew-ssh-keys
Before=ssh.service ssh.socket sshd.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/golden-renew-ssh-keys

[Install]
WantedBy=multi-user.target
";

/// One template: the file in the metadata, the guest path it renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub file: &'static str,
    pub path: String,
    pub content: String,
}

/// What a golden's templates will renew, read from its root filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub templates: Vec<Template>,
    /// Install the SSH host key renewer (sshd and systemd found).
    pub renewer: bool,
    /// What will not be renewed, one phrase each (for a notice and `-n`).
    pub not_renewed: Vec<String>,
}

impl Plan {
    /// The categories renewed, in the `identity` column's order.
    pub fn categories(&self) -> Vec<&'static str> {
        categories_of(self.templates.iter().map(|t| t.file))
    }
}

fn categories_of<'a>(files: impl Iterator<Item = &'a str> + Clone) -> Vec<&'static str> {
    let has = |f: &str| files.clone().any(|x| x == f);
    let mut out = Vec::new();
    if has(MACHINE_ID_TPL) || has(DBUS_ID_TPL) {
        out.push(MACHINE_ID);
    }
    if has(MARKER_TPL) {
        out.push(SSH_HOST_KEYS);
    }
    if has(HOSTNAME_TPL) || has(HOSTS_TPL) {
        out.push(HOSTNAME);
    }
    if has(LEASE_TPL) {
        out.push(DHCP_LEASES);
    }
    out
}

/// What the golden's metadata says its templates renew (empty: none of ours,
/// e.g. a pristine made by an older golden-create).
pub fn renewed_by(metadata: &Value) -> Vec<&'static str> {
    let files: Vec<&str> = metadata["templates"]
        .as_object()
        .map(|t| t.values().filter_map(|v| v["template"].as_str()).collect())
        .unwrap_or_default();
    categories_of(files.iter().copied())
}

/// Reads what `files` (the golden's root) holds and plans its templates.
pub fn plan(files: &dyn Files) -> Result<Plan> {
    let mut p = Plan::default();
    let symlink = |path: &str, p: &mut Plan| {
        p.not_renewed.push(format!(
            "{path} (a symlink: Incus renders no template through one; make it a file)"
        ))
    };
    let machine_id = "{{ config_get(\"volatile.uuid\", \"\")|cut:\"-\" }}\n";
    match files.read(ETC_MACHINE_ID)? {
        Some(f) if f.is_file() => p.add(MACHINE_ID_TPL, ETC_MACHINE_ID, machine_id),
        Some(f) if f.kind == FileKind::Symlink => symlink(ETC_MACHINE_ID, &mut p),
        _ => {}
    }
    if let Some(f) = files.read(DBUS_MACHINE_ID)?.filter(InstanceFile::is_file) {
        if super::real_id(&f.content) {
            p.add(DBUS_ID_TPL, DBUS_MACHINE_ID, machine_id);
        }
    }
    let mut named = None;
    match files.read(ETC_HOSTNAME)? {
        Some(f) if f.is_file() => {
            named = Some(f.text().trim().to_string()).filter(|n| !n.is_empty());
            p.add(HOSTNAME_TPL, ETC_HOSTNAME, "{{ instance.name }}\n");
        }
        Some(f) if f.kind == FileKind::Symlink => symlink(ETC_HOSTNAME, &mut p),
        _ => {}
    }
    match files.read(ETC_HOSTS)? {
        Some(f) if f.is_file() => {
            let text = f.text();
            let hosts = named
                .as_deref()
                .and_then(|n| replace_word(&text, n, "{{ instance.name }}"));
            match hosts {
                // Its own text would be read as template syntax.
                Some(_) if ["{{", "{%", "{#"].iter().any(|s| text.contains(s)) => p
                    .not_renewed
                    .push(format!("{ETC_HOSTS} (holds template syntax: left)")),
                Some(h) => p.add(HOSTS_TPL, ETC_HOSTS, &h),
                None => {}
            }
        }
        Some(f) if f.kind == FileKind::Symlink => symlink(ETC_HOSTS, &mut p),
        _ => {}
    }
    for (dir, endings) in LEASE_DIRS {
        // Under /run: gone at every boot.
        if dir.starts_with("/run/") {
            continue;
        }
        let Some(d) = files.read(dir)?.filter(|d| d.kind == FileKind::Directory) else {
            continue;
        };
        for name in d
            .entries
            .iter()
            .filter(|n| endings.iter().any(|e| n.ends_with(e)))
        {
            let path = format!("{dir}/{name}");
            // A symlink would keep every instance from starting if it led
            // out of the root: only files are templated.
            match files.read(&path)? {
                Some(f) if f.is_file() => p.add(LEASE_TPL, &path, ""),
                Some(f) if f.kind == FileKind::Symlink => symlink(&path, &mut p),
                _ => {}
            }
        }
    }
    if files.read(SSHD_CONFIG)?.is_some() {
        let systemd = files
            .read(SYSTEMD_DIR)?
            .is_some_and(|d| d.kind == FileKind::Directory);
        if systemd {
            p.renewer = true;
            p.add(MARKER_TPL, MARKER, "renew\n");
        } else {
            p.not_renewed.push(
                "SSH host keys (no systemd to renew them at first boot: renew them in each \
                 instance, e.g. by cloud-init)"
                    .into(),
            );
        }
    }
    Ok(p)
}

impl Plan {
    fn add(&mut self, file: &'static str, path: &str, content: &str) {
        self.templates.push(Template {
            file,
            path: path.to_string(),
            content: content.to_string(),
        });
    }
}

/// `current` metadata with our templates replaced by the plan's, others' kept.
pub fn merged(current: &Value, plan: &Plan) -> Value {
    let mut out = current.clone();
    if !out.is_object() {
        out = json!({});
    }
    let mut templates: Map<String, Value> = current["templates"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    templates.retain(|_, t| {
        !t["template"]
            .as_str()
            .is_some_and(|f| f.starts_with(PREFIX))
    });
    for t in &plan.templates {
        templates.insert(
            t.path.clone(),
            json!({
                "when": ["copy", "create"],
                "create_only": false,
                "template": t.file,
                "properties": {},
            }),
        );
    }
    out["templates"] = Value::Object(templates);
    out
}

/// Writes the plan into the golden `name` (stopped): template files first,
/// then the renewer in its root, the metadata last, so that a kill leaves
/// at worst unused files, never a metadata entry without its file.
pub fn install(incus: &Incus, project: &str, name: &str, plan: &Plan) -> Result<()> {
    let current = incus.instance_metadata(project, name)?;
    let renews = crate::model::KEY_RENEWS;
    let said = incus.instance(project, name)?.config.contains_key(renews);
    if plan.templates.is_empty() && renewed_by(&current).is_empty() && !said {
        return Ok(());
    }
    let mut written = std::collections::BTreeSet::new();
    for t in &plan.templates {
        if written.insert(t.file) {
            incus.write_template_file(project, name, t.file, t.content.as_bytes())?;
        }
    }
    if plan.renewer {
        let root = |mode| Perms {
            uid: 0,
            gid: 0,
            mode,
        };
        make_dirs(incus, project, name, "/usr/local/sbin")?;
        make_dirs(
            incus,
            project,
            name,
            "/etc/systemd/system/multi-user.target.wants",
        )?;
        make_dirs(incus, project, name, "/etc/golden")?;
        let old = incus.read_file(project, name, RENEWER)?;
        let script = RENEWER_SCRIPT.as_bytes();
        incus.replace_file(project, name, RENEWER, script, root(0o755), old.as_ref())?;
        let old = incus.read_file(project, name, UNIT)?;
        let unit = RENEWER_UNIT.as_bytes();
        incus.replace_file(project, name, UNIT, unit, root(0o644), old.as_ref())?;
        if incus.read_file(project, name, WANTS)?.is_none() {
            incus.make_symlink(project, name, WANTS, UNIT)?;
        }
    }
    incus.put_instance_metadata(project, name, &merged(&current, plan))?;
    let renews = match plan.categories() {
        c if c.is_empty() => String::new(),
        c => c.join(","),
    };
    let config = json!({ "config": { crate::model::KEY_RENEWS: renews } });
    incus.update_instance(project, name, &config)
}

/// Makes `path` and its missing parents (root's, 0755).
fn make_dirs(incus: &Incus, project: &str, name: &str, path: &str) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = path;
    while !at.is_empty() && at != "/" {
        if incus.read_file(project, name, at)?.is_some() {
            break;
        }
        missing.push(at);
        at = at.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    let perms = Perms {
        uid: 0,
        gid: 0,
        mode: 0o755,
    };
    for dir in missing.into_iter().rev() {
        incus.make_dir(project, name, dir, perms)?;
    }
    Ok(())
}
