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
//!
//! `If-Match` alone does not make one winner: Incus compares the ETag and
//! writes the config in two separate transactions, so writes sent at the same
//! moment with the same ETag are all accepted, the last one landing over the
//! others (measured: two such PUTs sent together both succeeded 50 times in
//! 50). A write is therefore only taken as a lease once it has settled (a
//! wait long enough for any write that crossed it to land) and is read back
//! naming us; the same holds for the removal, which a crossing write of
//! another key of the project would undo.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::cli::notice;
use crate::error::{Error, Result};
use crate::incus::{Incus, Kind};
use crate::lock::InstanceLock;
use crate::target::Target;

/// [`hold`] for a run that changes the instance; nothing for a dry run, which
/// changes nothing and waits for no one.
pub fn hold_unless_dry<'a>(
    dry_run: bool,
    incus: &'a Incus,
    t: &Target,
    hold_for: Duration,
) -> Result<Option<(InstanceLock, Option<Lease<'a>>)>> {
    if dry_run {
        return Ok(None);
    }
    hold(incus, t, hold_for).map(Some)
}

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
    // The lease is looked at first: a run waiting on the operations of one
    // that holds it (its stop) said nothing, then raced its release, and went
    // on without a word of whom it had waited for (seen in serialize's tests).
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
            incus.wait_instance_operations(&t.project, &t.name, 120)?;
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
    config: ProjectConfig<'a>,
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

/// Where a lease is kept: a config read with its ETag and written with
/// `If-Match` (a project's, in Incus; a model of one in the tests).
trait Config {
    fn read(&self) -> Result<(Value, Option<String>)>;
    /// [`Error::Conflict`] when it changed since `etag` was read.
    fn write(&self, body: &Value, etag: Option<&str>) -> Result<()>;
}

/// The config of one project of the daemon.
struct ProjectConfig<'a> {
    incus: &'a Incus,
    project: String,
}

impl Config for ProjectConfig<'_> {
    fn read(&self) -> Result<(Value, Option<String>)> {
        self.incus.project_tagged(&self.project)
    }
    fn write(&self, body: &Value, etag: Option<&str>) -> Result<()> {
        self.incus.put_project(&self.project, body, etag)
    }
}

/// How long a write is left to meet any other that crossed it, at least.
const SETTLE: Duration = Duration::from_millis(250);

/// Incus checks `If-Match` apart from the write it guards (`PUT
/// /1.0/projects/NAME` compares the ETag in one database transaction and
/// writes in another): two runs that read the same ETag and write at once
/// are both told yes, and the later write wins. So a write only counts once
/// any write that crossed it has landed: the time the daemon took for ours,
/// five times over (a crossing write was being handled by the same daemon at
/// the same moment), and never less than [`SETTLE`].
fn settle_after(write_took: Duration, floor: Duration) -> Duration {
    (write_took * 5).clamp(floor, Duration::from_secs(5))
}

/// What `key` of `config` says, if it parses.
fn holder_in(config: &Value, key: &str) -> Option<Holder> {
    config["config"][key].as_str().and_then(Holder::parse)
}

/// Waits between two looks at a held lease: half a second give or take a
/// fifth, so that runs that started together do not keep looking (and
/// writing) at the same moments.
fn poll_interval() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(400 + u64::from(nanos % 200))
}

/// One run's claim of one instance's key.
struct Claim<'c> {
    /// The instance and its project, as the messages name them.
    name: &'c str,
    project: &'c str,
    key: String,
    uuid: &'c str,
    host: &'c str,
    /// Its value, written afresh at each try (the expiry counts from then).
    mine: &'c dyn Fn() -> Holder,
    /// At least this long between a write and the look that confirms it.
    settle: Duration,
}

impl Claim<'_> {
    /// Writes the key once nobody else holds it, waiting up to `wait` for a
    /// holder (`waiting` is told who, once); returns once the write has
    /// settled and still names us (see [`settle_after`]). A write that lost
    /// to one that crossed it is not ours: the loser looks again, and waits
    /// for the winner like for any other holder.
    fn take(&self, config: &dyn Config, wait: Duration, waiting: impl FnOnce(&str)) -> Result<()> {
        let deadline = now() + wait.as_secs();
        let mut waiting = Some(waiting);
        loop {
            let (mut proj, etag) = config.read()?;
            let held = holder_in(&proj, &self.key).filter(|h| h.holds(self.uuid, now(), self.host));
            if let Some(h) = held {
                if let Some(w) = waiting.take() {
                    w(&h.owner);
                }
                if now() >= deadline {
                    return Err(Error::failed(format!(
                        "another golden-create ({}) still holds {} after {} s; try again later",
                        h.owner,
                        self.name,
                        wait.as_secs()
                    )));
                }
                std::thread::sleep(poll_interval());
                continue;
            }
            let me = (self.mine)();
            config_of(&mut proj)?.insert(self.key.clone(), Value::from(me.value()));
            let sent = std::time::Instant::now();
            match config.write(&proj, etag.as_deref()) {
                Ok(()) => {
                    std::thread::sleep(settle_after(sent.elapsed(), self.settle));
                    let (there, _) = config.read()?;
                    if holder_in(&there, &self.key).is_some_and(|h| h.owner == me.owner) {
                        return Ok(());
                    }
                    // Crossed by another write: its holder (if it claimed
                    // this key too) is waited for, or the key is free again.
                }
                // Someone wrote in between (another run's lock, perhaps of
                // another instance of the project): look again.
                Err(Error::Conflict(_)) => {}
                Err(e) => {
                    return Err(
                        e.context(format!("locking {} in project {}", self.name, self.project))
                    )
                }
            }
        }
    }
}

/// Removes `key` while it names `owner`: written, settled, and looked at
/// again, as a write that crossed ours (another run's lock of another
/// instance, sent with what it read before our removal) brings the key back.
fn unclaim(config: &dyn Config, key: &str, owner: &str, floor: Duration) -> Result<()> {
    for _ in 0..10 {
        let (mut proj, etag) = config.read()?;
        if holder_in(&proj, key).is_none_or(|h| h.owner != owner) {
            return Ok(());
        }
        config_of(&mut proj)?.remove(key);
        let sent = std::time::Instant::now();
        match config.write(&proj, etag.as_deref()) {
            Ok(()) => std::thread::sleep(settle_after(sent.elapsed(), floor)),
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
        let config = ProjectConfig {
            incus,
            project: project.to_string(),
        };
        let mine = || Holder {
            owner: owner.clone(),
            until: now() + hold.as_secs(),
            uuid: uuid.clone(),
        };
        Claim {
            name,
            project,
            key: key(name),
            uuid: &uuid,
            host: &host,
            mine: &mine,
            settle: SETTLE,
        }
        .take(&config, wait, waiting)?;
        Ok(Lease {
            config,
            name: name.to_string(),
            owner,
        })
    }

    /// Removes the key if it is still ours.
    fn release(&self) -> Result<()> {
        unclaim(&self.config, &key(&self.name), &self.owner, SETTLE)
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

    /// A config that checks `If-Match` apart from the write, as Incus does:
    /// the first `crossing` writes each wait, once their ETag matched, until
    /// all of them have matched, so that every one of them is told yes.
    struct Racy {
        state: std::sync::Mutex<(Value, u64)>,
        crossing: std::sync::Barrier,
        left: std::sync::atomic::AtomicUsize,
    }

    impl Racy {
        fn new(crossing: usize) -> Racy {
            Racy {
                state: std::sync::Mutex::new((serde_json::json!({"config": {}}), 0)),
                crossing: std::sync::Barrier::new(crossing),
                left: std::sync::atomic::AtomicUsize::new(crossing),
            }
        }
    }

    impl Config for Racy {
        fn read(&self) -> Result<(Value, Option<String>)> {
            let s = self.state.lock().unwrap();
            Ok((s.0.clone(), Some(s.1.to_string())))
        }
        fn write(&self, body: &Value, etag: Option<&str>) -> Result<()> {
            if etag != Some(self.state.lock().unwrap().1.to_string().as_str()) {
                return Err(Error::Conflict("changed".into()));
            }
            use std::sync::atomic::Ordering::SeqCst;
            if self
                .left
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                self.crossing.wait();
            }
            let mut s = self.state.lock().unwrap();
            *s = (body.clone(), s.1 + 1);
            Ok(())
        }
    }

    /// Three runs that read the free key together and write it together are
    /// all told yes by the config; still, one at a time holds it, the first
    /// until the two others wait for it, and each gets it in the end.
    #[test]
    fn claims_whose_writes_cross_take_turns() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let config = Racy::new(3);
        let (inside, turns) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (told, waiters) = std::sync::mpsc::channel::<String>();
        let waiters = std::sync::Mutex::new(waiters);
        std::thread::scope(|s| {
            for run in 0..3 {
                let (config, inside, turns, waiters) = (&config, &inside, &turns, &waiters);
                let told = told.clone();
                s.spawn(move || {
                    let owner = format!("elsewhere:{run}:1");
                    let mine = || Holder {
                        owner: owner.clone(),
                        until: now() + 60,
                        uuid: "u".into(),
                    };
                    let claim = Claim {
                        name: "gold",
                        project: "p",
                        key: key("gold"),
                        uuid: "u",
                        host: "here",
                        mine: &mine,
                        settle: Duration::from_millis(20),
                    };
                    let waiting = |holder: &str| told.send(holder.to_string()).unwrap();
                    claim
                        .take(config, Duration::from_secs(60), waiting)
                        .unwrap();
                    assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders at once");
                    if turns.fetch_add(1, SeqCst) == 0 {
                        let waiters = waiters.lock().unwrap();
                        for _ in 0..2 {
                            let holder = waiters.recv_timeout(Duration::from_secs(20));
                            assert_eq!(holder.as_deref(), Ok(owner.as_str()));
                        }
                    }
                    inside.fetch_sub(1, SeqCst);
                    unclaim(config, &key("gold"), &owner, Duration::from_millis(20)).unwrap();
                });
            }
        });
        assert_eq!(turns.load(SeqCst), 3);
        assert!(config.read().unwrap().0["config"][key("gold")].is_null());
    }
}
