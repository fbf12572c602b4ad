//! What all the golden-* tools share: the Incus client, records in and out,
//! output formatting, names, errors and exit codes.

pub mod batch;
pub mod cli;
pub mod complete;
pub mod error;
pub mod generations;
pub mod identity;
pub mod incus;
pub mod killpoint;
pub mod lease;
pub mod lock;
pub mod model;
pub mod name;
pub mod output;
pub mod power;
pub mod pristine;
pub mod readers;
pub mod record;
pub mod swap;
pub mod target;
pub mod term;

pub use error::{Error, Result, Status};
