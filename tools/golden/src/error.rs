//! Errors and the exit codes they map to: 0 done, 1 failed, 2 bad usage or input
//! (nothing done), 130 interrupted — as each man page's EXIT STATUS says.
//!
//! An error keeps what it is when context is added: [`Error::context`] prefixes
//! what we were doing and never changes the variant, and a refusal of the daemon
//! ([`Refusal`]) keeps its HTTP status and the daemon's own words under every
//! context. What a refusal *is* (not found, not ready yet, busy...) is read in one
//! place, `golden::incus::Kind::of`: tools match on that kind, never on the text.

use std::fmt;

/// What went wrong, sorted by what the user must do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad usage or bad input: nothing was done (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The Incus daemon could not be reached at all (exit 1).
    #[error("{0}")]
    Unreachable(String),
    /// Incus refused or failed a request (exit 1): its status and words, and
    /// what we were doing.
    #[error("{0}")]
    Incus(Box<Refusal>),
    /// Something changed in Incus between our read and our write (an `If-Match`
    /// that no longer matched, HTTP 412): nothing was written (exit 1).
    #[error("{0}")]
    Conflict(String),
    /// Anything else that failed for one record (exit 1).
    #[error("{0}")]
    Failed(String),
    /// A local I/O error; context added keeps it one, its kind and cause kept.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Stopped by SIGINT/SIGTERM after finishing what was under way (exit 130).
    #[error("{0}")]
    Interrupted(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the daemon's refusal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The answer to a request, with its HTTP status (404, 403, 409, 412, 500, 503...).
    Request(u16),
    /// An operation the daemon started and that then failed: part of its work
    /// may be done (its metadata says what it made, if anything).
    Operation,
    /// Through `incus query`, which prints the words and not the status.
    Query,
}

/// The daemon said no: where it said it, its own words, what the failed
/// operation had made (its metadata), and what we were doing (outermost first).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    origin: Origin,
    /// The daemon's words, as sent: read only by `golden::incus::Kind::of`.
    pub(crate) words: String,
    /// A failed operation's metadata (a publish's fingerprint, say).
    metadata: serde_json::Value,
    /// What the user should do, when the client knows (one clause).
    pub(crate) hint: Option<String>,
    context: Vec<String>,
}

impl Refusal {
    pub(crate) fn new(origin: Origin, words: impl Into<String>) -> Self {
        Refusal {
            origin,
            words: words.into(),
            metadata: serde_json::Value::Null,
            hint: None,
            context: Vec::new(),
        }
    }

    pub(crate) fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }

    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The HTTP status of a refused request (`None` for a failed operation or
    /// an answer through `incus query`).
    pub fn status(&self) -> Option<u16> {
        match self.origin {
            Origin::Request(s) => Some(s),
            _ => None,
        }
    }

    /// What a failed operation had made before it failed (`Null` if nothing said).
    pub fn metadata(&self) -> &serde_json::Value {
        &self.metadata
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.context {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.words)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

/// An I/O error with what we were doing: the same kind, the cause kept.
#[derive(Debug)]
struct IoContext {
    what: String,
    source: std::io::Error,
}

impl fmt::Display for IoContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for IoContext {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Error {
    pub fn usage(msg: impl fmt::Display) -> Self {
        Error::Usage(msg.to_string())
    }

    pub fn failed(msg: impl fmt::Display) -> Self {
        Error::Failed(msg.to_string())
    }

    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Interrupted(_) => 130,
            _ => 1,
        }
    }

    /// Prefixes the message with what we were doing ("deriving lab-1: ..."),
    /// the variant, the daemon's status and words and an I/O error's kind kept.
    pub fn context(self, what: impl fmt::Display) -> Self {
        let what = what.to_string();
        match self {
            Error::Usage(m) => Error::Usage(format!("{what}: {m}")),
            Error::Unreachable(m) => Error::Unreachable(format!("{what}: {m}")),
            Error::Incus(mut r) => {
                r.context.insert(0, what);
                Error::Incus(r)
            }
            Error::Failed(m) => Error::Failed(format!("{what}: {m}")),
            Error::Conflict(m) => Error::Conflict(format!("{what}: {m}")),
            Error::Io(e) => Error::Io(std::io::Error::new(e.kind(), IoContext { what, source: e })),
            Error::Interrupted(m) => Error::Interrupted(m),
        }
    }

    /// The daemon's refusal, when this is one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Incus(r) => Some(r),
            _ => None,
        }
    }

    /// The HTTP status the daemon answered with, when known (412 for a conflict).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Incus(r) => r.status(),
            Error::Conflict(_) => Some(412),
            _ => None,
        }
    }

    /// A closed stdout (`| head`) is a quiet end, not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Incus(Box::new(r))
    }
}

/// How a run ended when it did not fail as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every record done (exit 0).
    Done,
    /// At least one record failed, each already reported on stderr (exit 1).
    Partial,
}

impl Status {
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Done => 0,
            Status::Partial => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_status_the_words_and_the_io_kind() {
        let e = Error::from(Refusal::new(Origin::Request(404), "Instance not found"))
            .context("reading x")
            .context("deriving y");
        assert_eq!(e.to_string(), "deriving y: reading x: Instance not found");
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.refusal().unwrap().words, "Instance not found");

        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed");
        let e = Error::from(io).context("writing");
        assert!(e.is_broken_pipe(), "{e:?}");
        assert_eq!(e.to_string(), "writing: closed");
        let Error::Io(io) = &e else { panic!("{e:?}") };
        let inner = std::error::Error::source(io.get_ref().unwrap()).unwrap();
        assert_eq!(inner.to_string(), "closed");

        let e = Error::Conflict("changed".into()).context("moving alias");
        assert!(matches!(e, Error::Conflict(_)));
        assert_eq!(e.status(), Some(412));
    }
}
