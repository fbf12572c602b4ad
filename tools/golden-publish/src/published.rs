//! The record printed for each golden: one line of the table, TSV or NDJSON.

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

pub const COLUMNS: &[&str] = &[
    "project",
    "instance",
    "alias",
    "fingerprint",
    "size",
    "replaced",
    "image_project",
    "created_at",
    "volumes_left_out",
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
        assert_eq!(golden::output::fields_of(&rec), COLUMNS);
    }
}
