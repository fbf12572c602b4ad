//! Said before the first copy: which clones will be full copies, not CoW, and
//! why. Told once the plan is made, since only the plan knows which clones are
//! copied at all and on which member each lands.

use std::collections::BTreeMap;

use golden::cli::notice;

use crate::placement::crosses;
use crate::plan::Job;
use crate::template::Template;

/// Says which clones are full copies: first those over the network to another
/// member, once per template and member (`seeds`: later clones there are CoW
/// copies of the first); then, once per template and only if a copy will be
/// made, those the template's pool or the clones' cannot share blocks for.
pub fn say(templates: &[Template], jobs: &[Job], seeds: bool) {
    across_members(templates, jobs, seeds);

    // Said once per template, and only if a copy will be made.
    for (i, tpl) in templates.iter().enumerate() {
        let copies = jobs.iter().any(|j| j.template == i && j.existing.is_none());
        if let (true, Some(why)) = (copies, &tpl.full_copies) {
            notice(format!(
                "clones of {} are full copies, not CoW: {why}",
                tpl.target.name
            ));
        }
    }
}

/// Once per template and member, when its clones there are full copies over
/// the network (another member, storage of each member's own).
fn across_members(templates: &[Template], jobs: &[Job], seeds: bool) {
    let mut count: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for j in jobs.iter().filter(|j| j.existing.is_none()) {
        let tpl = &templates[j.template];
        if let Some(m) = j.location.as_deref() {
            if crosses(tpl.location.as_deref(), Some(m), &tpl.pool) {
                *count.entry((j.template, m)).or_default() += 1;
            }
        }
    }
    for ((ti, m), n) in count {
        let tpl = &templates[ti];
        let why = format!(
            "pool {} ({}) is each member's own and {} is on member {}",
            tpl.pool.name,
            tpl.pool.driver,
            tpl.target.name,
            tpl.location.as_deref().unwrap_or_default()
        );
        let msg = if seeds && n > 1 {
            format!(
                "clones of {} on member {m}: the first is a full copy over the network, not \
                 CoW ({why}); {}",
                tpl.target.name,
                match n - 1 {
                    1 => "the other one is a CoW copy of it".to_string(),
                    k => format!("the other {k} are CoW copies of it"),
                }
            )
        } else {
            format!(
                "clones of {} on member {m} are full copies over the network, not CoW ({why})",
                tpl.target.name
            )
        };
        notice(msg);
    }
}
