//! Phase 3: the alias pointed at the new image; with --replace, the image it
//! named before removed unless another alias names it.

use golden::cli::notice;
use golden::incus::{ImageAlias, Incus};
use golden::target::Target;
use golden::Result;

use crate::published::short;

/// Points `alias` (`existing`: as read before, to be moved) at `fingerprint`.
/// On failure the new image is removed: nothing is left that no alias names.
pub fn point(
    incus: &Incus,
    t: &Target,
    alias: &str,
    existing: Option<&ImageAlias>,
    fingerprint: &str,
) -> Result<()> {
    let pointed = match existing {
        Some(old) => incus.move_alias(&t.project, old, fingerprint),
        None => incus.create_alias(
            &t.project,
            alias,
            fingerprint,
            &format!("golden {}", t.name),
        ),
    };
    if let Err(e) = pointed {
        let _ = incus.delete_image(&t.project, fingerprint);
        return Err(e.context(format!("pointing alias {alias} at the new image")));
    }
    Ok(())
}

/// Removes the image `old` named before it was moved to `fingerprint`,
/// unless another alias still names it.
pub fn remove_replaced(
    incus: &Incus,
    t: &Target,
    old: &ImageAlias,
    fingerprint: &str,
) -> Result<()> {
    if old.target == fingerprint {
        return Ok(());
    }
    let img = incus.image(&t.project, &old.target)?;
    if img.aliases.is_empty() {
        incus.delete_image(&t.project, &old.target)?;
    } else {
        notice(format!(
            "kept image {}: other aliases name it",
            short(&old.target)
        ));
    }
    Ok(())
}
