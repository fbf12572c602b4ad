//! What a refusal of the daemon *is*: the one place that reads Incus's words.
//!
//! The daemon's HTTP status says most (404, 403, 409, 412...), but several states
//! that call for different handling share a status (a 404 for a missing
//! instance and for one left without a storage volume; a 500 for "not ready
//! yet" and for a failure), a failed operation has no status at all, and
//! `incus query` prints the words without the status. So the words are read
//! here, and only here: each case a [`Kind`] with the Incus version its words
//! were seen on. Tools match on the kind ([`Kind::of`]) and never on text;
//! `tests/structure.rs` checks that no code elsewhere tests the words.

use crate::error::{Error, Origin, Refusal};

/// What a refusal is, as far as a tool must tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The thing asked about does not exist: HTTP 404 (through `incus query`,
    /// words with "not found", as Incus 6.0.4 says it: "Instance not found").
    NotFound,
    /// This client may not do that: HTTP 403; Incus 6.0.4 says "Certificate is
    /// restricted" to a certificate restricted to some projects ("Forbidden"
    /// through a proxy).
    Forbidden,
    /// A cluster member's link to another member is not up yet (one of them just
    /// restarted): nothing was done for a refused request, and the same request
    /// succeeds once the members see each other again — the client asks again
    /// for a while ([`super::client`]). Incus 6.0.4: "Server isn't ready yet"
    /// (`cluster.EventListenerWait`), also inside a failed publish's "Failed
    /// syncing image between servers: Failed transferring image …".
    NotReady,
    /// The instance has a database record but no storage volume: a copy or a
    /// create cut short by a killed daemon (the record is made first, the volume
    /// after). Not transient: it stays so until deleted (`incus delete` removes
    /// such a record). Incus 6.0.4: HTTP 404 "Failed getting instance pool:
    /// Instance storage pool not found"; to a snapshot of it, "Storage volume
    /// "c" in project "p" of type "containers" does not exist on pool "x"".
    NoStorageVolume,
    /// The instance is held by another operation of the daemon; `action` is its
    /// name ("stop", "create"...). After a clean stop that timed out, the "stop"
    /// stays until the guest stops or is killed (`--force`). Incus 6.0.4:
    /// "Instance is busy running a "stop" operation".
    InstanceBusy { action: String },
    /// A mount point or snapshot in use (renaming a snapshot another machine
    /// reads): short-lived. Incus 6.0.4 passes the kernel's "device or resource
    /// busy" through.
    DeviceBusy,
    /// The name is taken (by a concurrent run, say): HTTP 409, or Incus 6.0.4's
    /// "UNIQUE constraint failed" (a copy's record) and "… already exists".
    AlreadyExists,
    /// A publish found the same image already made (same content within the same
    /// second): the image is there. Incus 6.0.4: "The image already exists: FP".
    ImageExists { fingerprint: String },
    /// A publish made its image on one cluster member, then failed to copy it
    /// to the others: the image is there (the members fetch an image they
    /// lack when they need it). Incus 6.0.4: "Failed syncing image between
    /// servers: …", seen with "Failed locating image … Image not available on
    /// any online member" while the machine was so loaded that heartbeats
    /// came late and the members saw one another offline; with "Server isn't
    /// ready yet" inside, it is [`Kind::NotReady`].
    ImageUnsynced,
    /// Two migrations from the same source to the same member at once: one is
    /// cut. Incus 6.0.4: "Error transferring instance data: … websocket: close
    /// 1000 (normal)".
    MigrationCut,
    /// The server is not a cluster. Incus 6.0.4: "Server is not clustered"
    /// (older: "… isn't part of a cluster").
    NotClustered,
    /// The daemon's file helper went away under a files request (it stops on a
    /// snapshot, a stop or a delete): nothing was done, asked again it starts a
    /// new one. Incus 6.0.4: "… forkfile.sock: connect: no such file or directory".
    FileHelperGone,
    /// The daemon's 412 to an `If-Match` that no longer matched ([`Error::Conflict`]).
    Changed,
    /// Any other refusal (its words are for the user, not for the tools).
    Other,
}

impl Kind {
    /// The kind of an error: [`Kind::Other`] for anything that is not a
    /// refusal of the daemon (but a conflict).
    pub fn of(e: &Error) -> Kind {
        match e {
            Error::Incus(r) => Kind::of_refusal(r),
            Error::Conflict(_) => Kind::Changed,
            _ => Kind::Other,
        }
    }

    pub fn of_refusal(r: &Refusal) -> Kind {
        let w = r.words.as_str();
        // The words that name a state whatever the status, first.
        if w.contains("Instance storage pool not found")
            || w.contains("of type \"containers\" does not exist on pool")
            || w.contains("of type \"virtual-machines\" does not exist on pool")
        {
            return Kind::NoStorageVolume;
        }
        if w.contains("Server isn't ready yet") {
            return Kind::NotReady;
        }
        if w.contains("Failed syncing image between servers") {
            return Kind::ImageUnsynced;
        }
        if let Some(fingerprint) = image_exists(w) {
            return Kind::ImageExists { fingerprint };
        }
        if let Some(action) = busy_with(w) {
            return Kind::InstanceBusy { action };
        }
        if w.contains("forkfile.sock") && w.contains("no such file or directory") {
            return Kind::FileHelperGone;
        }
        if w.contains("websocket: close 1000") {
            return Kind::MigrationCut;
        }
        match r.origin() {
            Origin::Request(404) => return Kind::NotFound,
            Origin::Request(403) => return Kind::Forbidden,
            Origin::Request(409) => return Kind::AlreadyExists,
            Origin::Request(412) => return Kind::Changed,
            _ => {}
        }
        let lower = w.to_lowercase();
        if lower.contains("not clustered") || lower.contains("isn't part of a cluster") {
            Kind::NotClustered
        } else if lower.contains("device or resource busy") {
            Kind::DeviceBusy
        } else if w.contains("UNIQUE constraint failed") || w.contains("already exists") {
            Kind::AlreadyExists
        } else if r.origin() == Origin::Query && lower.contains("not found") {
            Kind::NotFound
        } else if w.contains("Certificate is restricted")
            || (r.origin() == Origin::Query && w.contains("Forbidden"))
        {
            // Not always a 403: Incus 6.0.4 refused a restricted certificate
            // the listing of storage pools with these words and another
            // status (remote::a_project_restricted_certificate_is_enough
            // failed on it, once a 403 alone was read).
            Kind::Forbidden
        } else {
            Kind::Other
        }
    }

    /// Is it worth asking again, the same request, after a pause?
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Kind::NotReady | Kind::DeviceBusy | Kind::FileHelperGone
        )
    }
}

/// A refusal made from the daemon's words, with what the user can do about
/// the states a tool cannot (one clause, shown after the words).
pub(crate) fn refusal(origin: Origin, words: impl Into<String>) -> Refusal {
    let mut r = Refusal::new(origin, words);
    r.hint = match Kind::of_refusal(&r) {
        Kind::InstanceBusy { action } if action == "stop" => Some(
            "an earlier clean stop that timed out still waits for the guest to shut down: \
             give --force to kill it, or run incus stop --force"
                .to_string(),
        ),
        Kind::NoStorageVolume => Some(
            "the instance was left half-made, without a storage volume, by a copy or a \
             create that a daemon restart cut short: delete it with incus delete and make \
             it again (golden-derive --skip-existing does so for its own clones)"
                .to_string(),
        ),
        _ => None,
    };
    r
}

/// "The image already exists: FINGERPRINT" (a publish of the same content
/// within the same second).
fn image_exists(words: &str) -> Option<String> {
    let (_, rest) = words.split_once("The image already exists: ")?;
    let fp: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (fp.len() == 64).then_some(fp)
}

/// "Instance is busy running a "stop" operation" → `stop`.
fn busy_with(words: &str) -> Option<String> {
    let (_, rest) = words.split_once("Instance is busy running a \"")?;
    let (action, _) = rest.split_once('"')?;
    Some(action.to_string())
}

/// What a refused probe copy (a copy whose name is taken, sent to have the
/// daemon judge its profiles and config) says about what was asked for, if
/// anything: Incus 6.0.4 says "Requested profile "x" doesn't exist", or
/// "Failed creating instance record: WHY" (not about the name or a lock).
pub(crate) fn probe_judgement(e: &Error) -> Option<String> {
    const RECORD: &str = "Failed creating instance record: ";
    let answer = &e.refusal()?.words;
    if matches!(Kind::of(e), Kind::AlreadyExists | Kind::InstanceBusy { .. }) {
        return None;
    }
    if let Some(i) = answer.find("Requested profile") {
        return Some(answer[i..].to_string());
    }
    let i = answer.find(RECORD)?;
    let why = &answer[i + RECORD.len()..];
    // Refusals about the record itself, not about what was asked for.
    (!why.contains("Add instance info to the database")).then(|| why.to_string())
}

/// What the `incus query` client printed when it could not reach the daemon
/// (incus 6.0.4's client and Go's net package), as opposed to a refusal.
pub(crate) fn query_unreachable(stderr_lower: &str) -> bool {
    [
        "doesn't appear to be started",
        "connection refused",
        // The socket missing, not a file an operation did not find.
        "connect: no such file or directory",
        "unable to connect",
        "no route to host",
        "i/o timeout",
        "connect: permission denied",
    ]
    .iter()
    .any(|p| stderr_lower.contains(p))
}

/// The `incus query` client's words for a `REMOTE:` it does not know
/// (incus 6.0.4: `The remote "x" doesn't exist`).
pub(crate) fn query_unknown_remote(stderr_lower: &str) -> bool {
    stderr_lower.starts_with("the remote \"") && stderr_lower.contains("doesn't exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(status: u16, words: &str) -> Error {
        refusal(Origin::Request(status), words).into()
    }

    fn op(words: &str) -> Error {
        refusal(Origin::Operation, words).into()
    }

    #[test]
    fn the_status_says_most() {
        assert_eq!(Kind::of(&req(404, "Instance not found")), Kind::NotFound);
        assert_eq!(Kind::of(&req(404, "whatever")), Kind::NotFound);
        assert_eq!(
            Kind::of(&req(403, "Certificate is restricted")),
            Kind::Forbidden
        );
        assert_eq!(Kind::of(&req(409, "taken")), Kind::AlreadyExists);
        assert_eq!(Kind::of(&req(500, "Instance not found")), Kind::Other);
        assert_eq!(Kind::of(&Error::Conflict("x".into())), Kind::Changed);
        assert_eq!(Kind::of(&Error::failed("Instance not found")), Kind::Other);
        // Through `incus query`, the words stand for the status.
        let q: Error = refusal(Origin::Query, "Instance not found").into();
        assert_eq!(Kind::of(&q), Kind::NotFound);
        let q: Error = refusal(Origin::Query, "Certificate is restricted").into();
        assert_eq!(Kind::of(&q), Kind::Forbidden);
    }

    #[test]
    fn incus_6_0_4_words_are_kinds() {
        // A 404 that is not "no such instance": a copy cut short by a kill.
        let e = req(
            404,
            "Failed getting instance pool: Instance storage pool not found",
        );
        assert_eq!(Kind::of(&e), Kind::NoStorageVolume);
        assert!(e.to_string().contains("incus delete"), "{e}");
        let e = op("Create instance snapshot: Storage volume \"c3\" in project \"default\" of \
                    type \"containers\" does not exist on pool \"gbtrfs\": Storage volume not found");
        assert_eq!(Kind::of(&e), Kind::NoStorageVolume);
        let e = op(
            "Failed syncing image between servers: Failed transferring image \
                    \"abc\" from \"10.0.0.3:8443\": Server isn't ready yet",
        );
        assert_eq!(Kind::of(&e), Kind::NotReady);
        assert!(Kind::of(&e).is_transient());
        let e = req(500, "Instance is busy running a \"stop\" operation");
        assert_eq!(
            Kind::of(&e),
            Kind::InstanceBusy {
                action: "stop".into()
            }
        );
        assert!(e.to_string().contains("--force"), "{e}");
        assert!(!Kind::of(&e).is_transient());
        let fp = "a".repeat(64);
        assert_eq!(
            Kind::of(&op(&format!("The image already exists: {fp}"))),
            Kind::ImageExists { fingerprint: fp }
        );
        assert_eq!(
            Kind::of(&op("The image already exists: abc")),
            Kind::AlreadyExists
        );
        assert_eq!(
            Kind::of(&op(
                "Error transferring instance data: Failed migration on target: \
                          Error reading migration control source: websocket: close 1000 (normal)"
            )),
            Kind::MigrationCut
        );
        assert_eq!(
            Kind::of(&req(400, "Server is not clustered")),
            Kind::NotClustered
        );
        assert_eq!(
            Kind::of(&op(
                "Failed creating instance record: Add instance info to the database: \
                          Failed to create \"instances\" entry: UNIQUE constraint failed: \
                          instances.project_id, instances.name"
            )),
            Kind::AlreadyExists
        );
        assert_eq!(
            Kind::of(&op("Failed to rename: device or resource busy")),
            Kind::DeviceBusy
        );
        assert_eq!(
            Kind::of(&req(
                500,
                "Failed to connect: dial unix /var/lib/incus/devices/c/forkfile.sock: \
                 connect: no such file or directory"
            )),
            Kind::FileHelperGone
        );
        assert_eq!(Kind::of(&op("disk full")), Kind::Other);
    }

    #[test]
    fn a_kind_survives_context() {
        let e = req(
            404,
            "Failed getting instance pool: Instance storage pool not found",
        )
        .context("reading /etc/hostname in c")
        .context("c");
        assert_eq!(Kind::of(&e), Kind::NoStorageVolume);
        assert_eq!(e.status(), Some(404));
    }

    #[test]
    fn a_probe_copy_is_judged_by_what_the_daemon_refused() {
        let name_only = op("Failed creating instance record: Add instance info to the database: \
            Failed to create \"instances\" entry: UNIQUE constraint failed: instances.project_id, instances.name");
        assert_eq!(probe_judgement(&name_only), None);
        assert_eq!(
            probe_judgement(&op(
                "Failed creating instance record: Unknown configuration key: bad.key"
            ))
            .as_deref(),
            Some("Unknown configuration key: bad.key")
        );
        assert_eq!(
            probe_judgement(&op(
                "Failed creating instance record: Invalid CPU limit syntax"
            ))
            .as_deref(),
            Some("Invalid CPU limit syntax")
        );
        assert_eq!(
            probe_judgement(&req(400, "Requested profile \"nope\" doesn't exist")).as_deref(),
            Some("Requested profile \"nope\" doesn't exist")
        );
        assert_eq!(
            probe_judgement(&req(
                400,
                "Instance type \"virtual-machine\" is not supported"
            )),
            None
        );
        assert_eq!(
            probe_judgement(&op(
                "Failed creating instance record: Instance is busy running a \"stop\" operation"
            )),
            None
        );
    }

    #[test]
    fn the_query_client_tells_unreachable_from_refused() {
        assert!(query_unreachable(
            "the incus daemon doesn't appear to be started (socket path: /x/unix.socket)"
        ));
        assert!(!query_unreachable("instance not found"));
        assert!(query_unknown_remote("the remote \"nowhere\" doesn't exist"));
    }
}
