//! `golden-refresh --restore CLONE`: the clone back as it was before its
//! last refresh, from the copy kept then: the refreshed clone is removed,
//! the copy takes its name, and gets back what it held for it (MAC
//! addresses, static addresses); it runs again if the clone ran.
//!
//! Each step can be done again: killed after the refreshed clone is removed,
//! the copy is still there under its own name, and a rerun goes on.
//!
//! It holds the clone as a refresh does (the local lock and the lease in
//! Incus, `golden::lease`): a refresh or a golden-create of it on another
//! machine and a restore take turns; the copy is read again once held.

use golden::identity::templates::TRIGGER_NONE;
use std::time::Duration;

use golden::cli::notice;
use golden::incus::{Incus, Instance};
use golden::lease::Lease;
use golden::lock::InstanceLock;
use golden::model::{Provenance, KEY_PRE_REFRESH_OF, KEY_REFRESH_TRIGGER};
use golden::target::Target;
use golden::{Error, Result};
use serde_json::Value;

use crate::backup::{KEY_AUTOSTART, KEY_DEVICE, KEY_HWADDR};
use crate::{Args, Refreshed};

/// Restores the clone whose pre-refresh copy is `kept`.
pub fn one(kept: &Target, args: &Args) -> Result<Refreshed> {
    let incus = kept.incus();
    let first = incus.instance(&kept.project, &kept.name)?;
    let clone = &clone_of(kept, &first)?;
    // One run on the clone at a time, here and across machines: what a
    // refresh (or a golden-create of it) holds.
    let held = match args.run.dry_run {
        true => None,
        false => Some(hold(&incus, kept, clone, args)?),
    };
    // Read again under it: a run that held it may have replaced the copy,
    // or restored it already.
    let k = match held.is_some() {
        true => incus.instance(&kept.project, &kept.name)?,
        false => first,
    };
    if clone_of(kept, &k)? != *clone {
        return Err(Error::failed(format!(
            "{} was replaced meanwhile by a copy of another instance",
            kept.name
        )));
    }
    let now = incus.instance_if_any(&kept.project, clone)?;
    // The copy's config, read as the clone's it is.
    let mut as_clone = k.config.clone();
    as_clone.remove(KEY_PRE_REFRESH_OF);
    if now.is_none() {
        refuse_a_moved_clone(&incus, kept, &as_clone, clone)?;
    }
    let running = now.as_ref().is_some_and(|i| i.status != "Stopped");
    let prov = |config| Provenance::of(config).map(|p| (p.project, p.template, p.created_at));
    let (tp, tn, to) = prov(&as_clone).unwrap_or_default();
    let mut rec = Refreshed {
        project: kept.project.clone(),
        instance: clone.clone(),
        template: format!("{tp}/{tn}"),
        from: now
            .as_ref()
            .and_then(|i| prov(&i.config))
            .map(|p| p.2.to_string())
            .unwrap_or_default(),
        to: to.to_string(),
        status: "would-restore".into(),
        identity: "-".into(),
        kept: String::new(),
        snapshots: incus.snapshots(&kept.project, &kept.name)?.len(),
        restarted: running,
    };
    if args.run.dry_run {
        return Ok(rec);
    }
    if now.is_some() {
        if running {
            args.stop.stop(&incus, (&kept.project, clone))?;
        }
        incus.wait_instance_operations(&kept.project, clone, 120)?;
        incus.delete_instance(&kept.project, clone)?;
    }
    incus.rename_instance(&kept.project, &kept.name, clone)?;
    let (mut body, etag) = incus.instance_tagged(&kept.project, clone)?;
    given_back(&mut body);
    incus.put_instance(&kept.project, clone, &body, etag.as_deref())?;
    if running {
        incus
            .set_state(&kept.project, clone, "start", None, false)
            .map_err(|e| e.context("restored, but starting it again failed"))?;
    }
    rec.status = "restored".into();
    Ok(rec)
}

/// The clone moved to another project since its refresh (found there by
/// its name and a MAC address the copy keeps for it, or without one by its
/// template; a project move keeps both): restoring the copy
/// under its name here would make two machines of one name and one MAC on
/// the same network, and every tool would refuse the name as ambiguous.
/// Nothing is changed. (Absent everywhere: removed by an interrupted restore,
/// or by hand, and the restore goes on.)
fn refuse_a_moved_clone(
    incus: &Incus,
    kept: &Target,
    config: &std::collections::BTreeMap<String, String>,
    clone: &str,
) -> Result<()> {
    let macs: Vec<&String> = config
        .iter()
        .filter(|(key, _)| key.starts_with(KEY_HWADDR))
        .map(|(_, mac)| mac)
        .collect();
    // Without a NIC to tell it by: a clone of the same template.
    fn template(c: &std::collections::BTreeMap<String, String>) -> Option<(String, String)> {
        Provenance::of(c).map(|p| (p.project.to_string(), p.template.to_string()))
    }
    let ours = template(config);
    let moved = incus
        .instances(&golden::incus::Scope::All)?
        .into_iter()
        .find(|i| {
            let same_mac = i
                .config
                .iter()
                .any(|(key, v)| key.ends_with(".hwaddr") && macs.contains(&v));
            let same_template = macs.is_empty() && ours.is_some() && template(&i.config) == ours;
            i.name == clone && i.project != kept.project && (same_mac || same_template)
        });
    match moved {
        Some(i) => Err(Error::failed(format!(
            "{clone} is in project {} now, its pre-refresh copy {} in project {}: restored \
             here it would be a second {clone} with the same MAC address; move the copy \
             first (`incus move {} --project {} --target-project {}`), then restore there",
            i.project, kept.name, kept.project, kept.name, kept.project, i.project
        ))),
        None => Ok(()),
    }
}

/// The clone whose pre-refresh copy `k` is.
fn clone_of(kept: &Target, k: &Instance) -> Result<String> {
    match k.config.get(KEY_PRE_REFRESH_OF).filter(|c| !c.is_empty()) {
        Some(clone) => Ok(clone.clone()),
        None => Err(Error::failed(format!(
            "{} is not a copy golden-refresh kept",
            kept.name
        ))),
    }
}

/// The clone held as a refresh holds it ([`golden::lease::hold`]), for a stop
/// and the restore. A clone an interrupted restore removed has nothing to hold
/// in Incus: the local lock only.
fn hold<'a>(
    incus: &'a Incus,
    kept: &Target,
    clone: &str,
    args: &Args,
) -> Result<(InstanceLock, Option<Lease<'a>>)> {
    if incus.instance_if_any(&kept.project, clone)?.is_none() {
        let lock = InstanceLock::acquire(kept.remote.as_deref(), &kept.project, clone, |_| {
            notice(format!("waiting for another run on {clone}"))
        })?;
        return Ok((lock, None));
    }
    let t = Target {
        name: clone.to_string(),
        ..kept.clone()
    };
    golden::lease::hold(incus, &t, Duration::from_secs(args.stop.timeout + 900))
}

/// What the copy held for the clone, put back: its MAC addresses and static
/// addresses; the copy's own marks removed.
fn given_back(body: &mut Value) {
    let config = body["config"]
        .as_object_mut()
        .expect("an instance has config");
    let saved: Vec<(String, Value)> = config
        .iter()
        .filter(|(k, _)| k.starts_with(KEY_HWADDR) || k.starts_with(KEY_DEVICE))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    config.remove(KEY_PRE_REFRESH_OF);
    // Its own autostart (the copy's was false).
    config.remove("boot.autostart");
    if let Some(own) = config.remove(KEY_AUTOSTART) {
        config.insert("boot.autostart".into(), own);
    }
    // Its own identity, never the templates' (see backup::make); unless it
    // was never started: then what its first start would have rendered.
    let trigger = config
        .remove(KEY_REFRESH_TRIGGER)
        .filter(|t| t.as_str().is_some_and(|t| !t.is_empty()))
        .unwrap_or_else(|| TRIGGER_NONE.into());
    config.insert("volatile.apply_template".into(), trigger);
    let mut devices_back = Vec::new();
    for (key, value) in saved {
        config.remove(&key);
        if let Some(nic) = key.strip_prefix(KEY_HWADDR) {
            config.insert(format!("volatile.{nic}.hwaddr"), value);
        } else if let Some(rest) = key.strip_prefix(KEY_DEVICE) {
            if let Some((dev, k)) = rest.split_once('.') {
                devices_back.push((dev.to_string(), k.to_string(), value));
            }
        }
    }
    for (dev, k, value) in devices_back {
        if let Some(d) = body["devices"].get_mut(&dev).and_then(Value::as_object_mut) {
            d.insert(k, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_copy_gets_back_the_clones_mac_static_address_and_identity() {
        let mut body = json!({
            "config": {
                "user.golden.pre-refresh-of": "c1",
                "user.golden.hwaddr.eth0": "10:66:6a:00:00:01",
                "user.golden.device.eth0.ipv4.address": "10.0.0.7",
                "volatile.eth0.hwaddr": "10:66:6a:99:99:99",
                "user.mine": "kept"
            },
            "devices": { "eth0": { "type": "nic", "network": "br0" } }
        });
        given_back(&mut body);
        assert_eq!(
            body,
            json!({
                "config": {
                    "volatile.eth0.hwaddr": "10:66:6a:00:00:01",
                    "user.mine": "kept",
                    // Its own identity at its next start, not the templates'.
                    "volatile.apply_template": TRIGGER_NONE
                },
                "devices": { "eth0": { "type": "nic", "network": "br0", "ipv4.address": "10.0.0.7" } }
            })
        );
    }

    #[test]
    fn a_copy_of_a_clone_never_started_gets_back_its_first_starts_trigger() {
        let mut body = json!({
            "config": {
                "user.golden.pre-refresh-of": "c1",
                "user.golden.refresh.trigger": "copy",
                "volatile.apply_template": TRIGGER_NONE
            },
            "devices": {}
        });
        given_back(&mut body);
        assert_eq!(
            body,
            json!({ "config": { "volatile.apply_template": "copy" }, "devices": {} })
        );
    }
}
