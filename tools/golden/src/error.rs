//! Errors and the exit codes they map to: 0 done, 1 failed, 2 bad usage or input
//! (nothing done), 130 interrupted — as each man page's EXIT STATUS says.

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
    /// Incus refused or failed a request (exit 1); the text says what we were doing.
    #[error("{0}")]
    Incus(String),
    /// Something changed in Incus between our read and our write (an `If-Match`
    /// that no longer matched): nothing was written (exit 1).
    #[error("{0}")]
    Conflict(String),
    /// Anything else that failed for one record (exit 1).
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Stopped by SIGINT/SIGTERM after finishing what was under way (exit 130).
    #[error("{0}")]
    Interrupted(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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

    /// Prefixes the message with what we were doing ("deriving lab-1: ...").
    pub fn context(self, what: impl fmt::Display) -> Self {
        match self {
            Error::Usage(m) => Error::Usage(format!("{what}: {m}")),
            Error::Unreachable(m) => Error::Unreachable(format!("{what}: {m}")),
            Error::Incus(m) => Error::Incus(format!("{what}: {m}")),
            Error::Failed(m) => Error::Failed(format!("{what}: {m}")),
            Error::Conflict(m) => Error::Conflict(format!("{what}: {m}")),
            Error::Io(e) => Error::Failed(format!("{what}: {e}")),
            Error::Interrupted(m) => Error::Interrupted(m),
        }
    }

    /// A closed stdout (`| head`) is a quiet end, not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
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
