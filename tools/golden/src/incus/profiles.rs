//! Profiles: what a clone given `--profile` will get from them.

use super::client::enc;
use super::kind::Kind;
use super::{Incus, Profile};
use crate::error::Result;

impl Incus {
    /// A profile of `project`'s profile store; `None` if there is no such profile.
    pub fn profile(&self, project: &str, name: &str) -> Result<Option<Profile>> {
        match self.get(&format!(
            "/1.0/profiles/{}?project={}",
            enc(name),
            enc(project)
        )) {
            Ok(p) => Ok(Some(p)),
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(None),
            Err(e) => Err(e.context(format!("reading profile {name} in project {project}"))),
        }
    }
}
