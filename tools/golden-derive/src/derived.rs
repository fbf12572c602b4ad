//! The record printed for each clone: one line of the table, TSV or NDJSON.

use golden::output::{col, Column};
use serde::Serialize;

/// One clone made, skipped, or (with -n) planned.
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    pub project: String,
    pub instance: String,
    /// `project/template/snapshot` it was copied from.
    pub source: String,
    pub pool: String,
    pub driver: String,
    pub cow: bool,
    /// `Stopped`, `Running`, `skipped` (exists, same template), `started` (exists,
    /// same template, was stopped: --start) or `planned` (-n).
    pub status: String,
    /// created_at of the pristine it came from.
    pub created_at: String,
    pub ipv4: Option<String>,
    /// What was reset in the clone (`machine-id,ssh-host-keys,hostname,dhcp-leases,random-seed`),
    /// `-` for nothing, `not-reset:vm` for a virtual machine; with -n, what would be.
    pub identity: String,
    /// The cluster member it is on (planned, with -n); empty outside a cluster.
    pub location: Option<String>,
}

/// The columns, in order. On a narrow terminal the table keeps which clone,
/// its status, whether it shares blocks, its address and identity; the
/// `source` (the template named on the command line) and where it is go first.
pub const COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("source", 3),
    col("pool", 3),
    col("driver", 3),
    col("cow", 1),
    col("status", 0),
    col("created_at", 3),
    col("ipv4", 2),
    col("identity", 2),
    col("location", 3),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Derived {
            project: "p".into(),
            instance: "i".into(),
            source: "p/t/pristine".into(),
            pool: "pool".into(),
            driver: "btrfs".into(),
            cow: true,
            status: "planned".into(),
            created_at: String::new(),
            ipv4: None,
            identity: "-".into(),
            location: None,
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(COLUMNS)
        );
    }
}
