//! Making something from `pristine` (a copy, an image) while another machine
//! may swap it.
//!
//! A reader holds the readers' lock ([`crate::readers`]) from the moment it
//! looks which snapshot stands for pristine until what it makes exists: a
//! golden-create on this machine waits to rename it. One on another machine
//! is not held off: the snapshot may be renamed under the reader, whose work
//! then fails. [`ride_over_swaps`] tries it again from the new pristine, a few
//! times, when (and only when) the pristine did change meanwhile.

use crate::error::Result;

/// Tries in all, the first included.
pub const ATTEMPTS: u32 = 5;

/// Runs `make` from `source` (what stood for pristine when read). When it
/// fails, the pristine is read again (`read_again`); if it changed (`same`
/// says not), `make` runs again from the new one, up to [`ATTEMPTS`] times
/// in all; else its error is the answer. Returns the source `make` succeeded
/// from, with what it made.
pub fn ride_over_swaps<S, R>(
    mut source: S,
    same: impl Fn(&S, &S) -> bool,
    mut read_again: impl FnMut() -> Result<S>,
    mut make: impl FnMut(&S) -> Result<R>,
) -> Result<(S, R)> {
    let mut attempts = 0;
    loop {
        let e = match make(&source) {
            Ok(made) => return Ok((source, made)),
            Err(e) => e,
        };
        attempts += 1;
        let now = read_again()?;
        if attempts >= ATTEMPTS || same(&now, &source) {
            return Err(e);
        }
        source = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::cell::Cell;

    /// `make` fails while the name it was given is not the current one.
    fn run(swaps: u32, fails_anyway: bool) -> (Result<(u32, &'static str)>, Vec<u32>) {
        let current = Cell::new(0);
        let mut tried = Vec::new();
        let out = ride_over_swaps(
            0,
            |a, b| a == b,
            || Ok(current.get()),
            |s| {
                tried.push(*s);
                // A swap elsewhere renames it while this one reads it.
                if current.get() < swaps {
                    current.set(current.get() + 1);
                    return Err(Error::failed("renamed under us"));
                }
                match fails_anyway {
                    true => Err(Error::failed("disk full")),
                    false => Ok("made"),
                }
            },
        );
        (out, tried)
    }

    #[test]
    fn made_at_once_is_made_from_the_first() {
        let (out, tried) = run(0, false);
        assert_eq!(out.unwrap(), (0, "made"));
        assert_eq!(tried, [0]);
    }

    #[test]
    fn a_swap_meanwhile_is_ridden_over_from_the_new_pristine() {
        let (out, tried) = run(2, false);
        assert_eq!(out.unwrap(), (2, "made"));
        assert_eq!(tried, [0, 1, 2]);
    }

    #[test]
    fn a_failure_with_no_swap_is_not_tried_again() {
        let (out, tried) = run(0, true);
        assert_eq!(out.unwrap_err().to_string(), "disk full");
        assert_eq!(tried, [0]);
    }

    #[test]
    fn swaps_without_end_are_given_up_after_a_few_tries() {
        let (out, tried) = run(u32::MAX, false);
        assert_eq!(out.unwrap_err().to_string(), "renamed under us");
        assert_eq!(tried.len() as u32, ATTEMPTS);
    }

    #[test]
    fn what_cannot_be_read_again_is_the_answer() {
        let out: Result<((), ())> = ride_over_swaps(
            (),
            |_, _| false,
            || Err(Error::failed("gone")),
            |_| Err(Error::failed("failed")),
        );
        assert_eq!(out.unwrap_err().to_string(), "gone");
    }
}
