//! Project chores, run with `cargo run -p xtask -- TASK` (or through `make`):
//!
//! - `gen-docs`: write man/ and completions/ from the tools' clap definitions
//!   (`make man completions`); `tests/docs.rs` here fails when the committed
//!   ones differ;
//! - `bench`: the tools against what users do today, on the private Incus
//!   (`make bench`, through `tests/bench.sh`).

pub mod docs;
