//! The record printed for each golden: one line of the table, TSV or NDJSON.

use golden::output::{col, Column};
use serde::Serialize;

/// One image published (or, with -n, to be published).
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub project: String,
    pub instance: String,
    pub alias: String,
    pub fingerprint: String,
    pub size: Option<u64>,
    /// The image the alias named before (--replace); empty if none.
    pub replaced: String,
    /// The project whose image store holds it (`default` for a project without features.images).
    pub image_project: String,
    /// created_at of the pristine it was made from.
    pub created_at: String,
    /// Attached custom volumes left out of the image.
    pub volumes_left_out: usize,
}

/// The columns, in order. On a narrow terminal the table keeps which golden,
/// its alias and image; where the image is stored and when its pristine was
/// made go first.
pub const COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("alias", 0),
    col("fingerprint", 1),
    col("size", 2),
    col("replaced", 2),
    col("image_project", 3),
    col("created_at", 3),
    col("volumes_left_out", 4),
];

/// A fingerprint as people read it.
pub fn short(fp: &str) -> &str {
    &fp[..fp.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Published {
            project: "p".into(),
            instance: "i".into(),
            alias: "a".into(),
            fingerprint: String::new(),
            size: None,
            replaced: String::new(),
            image_project: "default".into(),
            created_at: String::new(),
            volumes_left_out: 0,
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(COLUMNS)
        );
    }
}
