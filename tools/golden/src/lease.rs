//! One `golden-create` or `golden-refresh` of an instance at a time, across
//! machines.
//!
//! The local file lock ([`crate::lock`]) serialises runs on one machine; two
//! machines share only Incus. So the lock is also held in Incus itself: a
//! `user.golden.lock.INSTANCE` key of the instance's project naming its owner,
//! written with `If-Match` so that of two runs writing at once exactly one
//! succeeds.
//!
//! Why the project, not the instance: a key on the instance would be recorded
//! by the pristine snapshot (and so copied into every clone), and an instance
//! busy with an operation (a stop that outlived our timeout) refuses any update
//! for as long as it lasts. A project takes `user.*` keys and has its own ETag.
//!
//! A killed run cannot release it, so the key carries an expiry, and a holder
//! on this machine whose process is gone is known to be dead at once. The key
//! names the instance's `volatile.uuid` too, so a new instance of the same name
//! is not held by an old key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::cli::notice;
use crate::error::{Error, Result};
use crate::incus::{Incus, Kind};
use crate::lock::InstanceLock;
use crate::target::Target;

/// One run on an instance at a time, on this machine (a file lock) and across
/// machines (a lease held in Incus, for `hold`: long enough for a stop and
/// the work); and whatever a killed run left running on the daemon ends
/// before the caller reads the instance.
pub fn hold<'a>(
    incus: &'a Incus,
    t: &Target,
    hold: Duration,
) -> Result<(InstanceLock, Option<Lease<'a>>)> {
    let lock = InstanceLock::acquire(t.remote.as_deref(), &t.project, &t.name, |file| {
        notice(format!(
            "waiting for another run on {} (lock {})",
            t.name,
            file.display()
        ))
    })?;
    incus.wait_instance_operations(&t.project, &t.name, 120)?;
    // A killed run's lease expires (at once, for a run of this machine).
    let lease = Lease::acquire(
        incus,
        &t.project,
        &t.name,
        hold,
        crate::lock::wait(),
        |owner| {
            notice(format!(
                "waiting for another run on {} (held by {owner})",
                t.name
            ))
        },
    );
    match lease {
        Ok(l) => {
            // What a run elsewhere (or a killed one) left running ends first.
            incus.wait_instance_operations(&t.project, &t.name, 120)?;
            Ok((lock, Some(l)))
        }
        // A client restricted to its projects may not write their config: it
        // still has the local lock.
        Err(e) if Kind::of(&e) == Kind::Forbidden => {
            notice(format!(
                "{}: not locked across machines ({e}); runs on this machine still take turns",
                t.name
            ));
            Ok((lock, None))
        }
        Err(e) => Err(e),
    }
}

/// The project config key holding the lock of `instance`.
pub fn key(instance: &str) -> String {
    format!("user.golden.lock.{instance}")
}

/// Held while the value lives; released (best effort) when dropped.
pub struct Lease<'a> {
    incus: &'a Incus,
    project: String,
    name: String,
    owner: String,
}

/// What the key says: who holds it, until when, for which instance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    owner: String,
    until: u64,
    uuid: String,
}

impl Holder {
    fn parse(value: &str) -> Option<Holder> {
        let mut owner = None;
        let mut until = None;
        let mut uuid = None;
        for part in value.split(';') {
            match part.split_once('=') {
                Some(("owner", v)) => owner = Some(v.to_string()),
                Some(("until", v)) => until = v.parse().ok(),
                Some(("uuid", v)) => uuid = Some(v.to_string()),
                _ => {}
            }
        }
        Some(Holder {
            owner: owner?,
            until: until?,
            uuid: uuid.unwrap_or_default(),
        })
    }

    fn value(&self) -> String {
        format!(
            "owner={};until={};uuid={}",
            self.owner, self.until, self.uuid
        )
    }

    /// Does it still hold the instance whose uuid is `uuid`, at `now`?
    fn holds(&self, uuid: &str, now: u64, host: &str) -> bool {
        self.uuid == uuid && now < self.until && !dead_here(&self.owner, host)
    }
}

/// An owner on this machine whose process is gone holds nothing.
fn dead_here(owner: &str, host: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (_nonce, pid, h) = (parts.next(), parts.next(), parts.next());
    match (h, pid.and_then(|p| p.parse::<i32>().ok())) {
        (Some(h), Some(pid)) if h == host => {
            // kill(pid, 0): does the process exist (EPERM: it does, not ours)?
            let alive = unsafe { libc::kill(pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            !alive
        }
        _ => false,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn config_of(object: &mut Value) -> Result<&mut serde_json::Map<String, Value>> {
    if object.get("config").is_none_or(Value::is_null) {
        object["config"] = Value::Object(Default::default());
    }
    object["config"]
        .as_object_mut()
        .ok_or_else(|| Error::Failed("a project without a config object".into()))
}

impl<'a> Lease<'a> {
    /// Takes the lock for `hold`, waiting up to `wait` for another holder
    /// (`waiting` is told who, once).
    pub fn acquire(
        incus: &'a Incus,
        project: &str,
        name: &str,
        hold: Duration,
        wait: Duration,
        waiting: impl FnOnce(&str),
    ) -> Result<Lease<'a>> {
        let host = host();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let owner = format!("{host}:{}:{nanos}", std::process::id());
        let uuid = incus
            .instance(project, name)?
            .config
            .get("volatile.uuid")
            .cloned()
            .unwrap_or_default();
        let key = key(name);
        let deadline = now() + wait.as_secs();
        let mut waiting = Some(waiting);
        loop {
            let (mut proj, etag) = incus.project_tagged(project)?;
            let held = proj["config"][&key]
                .as_str()
                .and_then(Holder::parse)
                .filter(|h| h.holds(&uuid, now(), &host));
            if let Some(h) = held {
                if let Some(w) = waiting.take() {
                    w(&h.owner);
                }
                if now() >= deadline {
                    return Err(Error::failed(format!(
                        "another golden-create ({}) still holds {name} after {} s; try again later",
                        h.owner,
                        wait.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            let mine = Holder {
                owner: owner.clone(),
                until: now() + hold.as_secs(),
                uuid: uuid.clone(),
            };
            config_of(&mut proj)?.insert(key.clone(), Value::from(mine.value()));
            match incus.put_project(project, &proj, etag.as_deref()) {
                Ok(()) => {
                    return Ok(Lease {
                        incus,
                        project: project.to_string(),
                        name: name.to_string(),
                        owner,
                    })
                }
                // Someone wrote in between (another run's lock, perhaps of
                // another instance of the project): look again.
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e.context(format!("locking {name} in project {project}"))),
            }
        }
    }

    /// Removes the key if it is still ours.
    fn release(&self) -> Result<()> {
        let key = key(&self.name);
        for _ in 0..10 {
            let (mut proj, etag) = self.incus.project_tagged(&self.project)?;
            let ours = proj["config"][&key]
                .as_str()
                .and_then(Holder::parse)
                .is_some_and(|h| h.owner == self.owner);
            if !ours {
                return Ok(());
            }
            config_of(&mut proj)?.remove(&key);
            match self
                .incus
                .put_project(&self.project, &proj, etag.as_deref())
            {
                Err(Error::Conflict(_)) => continue,
                other => return other,
            }
        }
        Ok(())
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // An instance gone, a daemon gone: the expiry takes care of the rest.
        let _ = self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_holds_its_own_instance_until_it_expires() {
        let h = Holder {
            owner: "elsewhere:1:5".into(),
            until: 1000,
            uuid: "u1".into(),
        };
        assert_eq!(Holder::parse(&h.value()), Some(h.clone()));
        assert!(h.holds("u1", 999, "here"));
        assert!(!h.holds("u1", 1000, "here"), "expired");
        assert!(!h.holds("u2", 999, "here"), "a clone's copy of the key");
        assert_eq!(Holder::parse("garbage"), None);
    }

    #[test]
    fn a_holder_on_this_machine_whose_process_is_gone_holds_nothing() {
        let me = format!("here:{}:1", std::process::id());
        assert!(!dead_here(&me, "here"));
        // pid 0x3fffffff is beyond any pid_max.
        assert!(dead_here("here:1073741823:1", "here"));
        // Elsewhere, we cannot tell: trust the expiry.
        assert!(!dead_here("there:1073741823:1", "here"));
    }
}
