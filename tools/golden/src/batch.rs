//! The record loop of every tool that changes things: stop if interrupted,
//! run one, print its record or report its failure, stop at the first failure
//! with `--fail-fast`. One worker runs the records in order; more run them in
//! parallel and print each record as it ends.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use crate::cli;
use crate::error::{Result, Status};
use crate::output::Printer;

/// How a batch runs.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Records run at once (at least one; never more than there are records).
    pub jobs: u16,
    pub fail_fast: bool,
    /// A progress bar with this label, on a terminal.
    pub progress: Option<&'a str>,
}

/// How many workers run `records` records with `-j jobs`: computed in `usize`,
/// so no count of records ever truncates to zero workers.
pub fn workers(records: usize, jobs: u16) -> usize {
    usize::from(jobs).min(records).max(1)
}

/// Runs `work` on each target in turn, in the user's order (each may stop
/// an instance, or change one the next depends on), after checking that its
/// cluster member is reachable: [`run`] with one job and no progress bar.
pub fn each_in_turn<R, W>(
    targets: &[crate::target::Target],
    fail_fast: bool,
    printer: Printer<W>,
    work: impl Fn(&crate::target::Target) -> Result<R> + Sync,
) -> Result<Status>
where
    R: Serialize + Send,
    W: Write,
{
    let opts = Options {
        jobs: 1,
        fail_fast,
        progress: None,
    };
    run(
        targets,
        opts,
        printer,
        |t| t.name.clone(),
        |t| {
            t.reachable()?;
            work(t)
        },
    )
}

/// Runs `work` on every item, prints each record as it ends, and ends the
/// printer. `name` says which item a failure is about.
///
/// A closed stdout (`| head -2`) ends the printing quietly, not the work: the
/// set asked for is finished, and the exit status says how the work went.
///
/// An interrupt (SIGINT, SIGTERM, SIGHUP) lets the items under way finish and
/// be printed, starts no new one, and ends in exit 130 when some were left.
pub fn run<J, R, W>(
    items: &[J],
    opts: Options,
    mut printer: Printer<W>,
    name: impl Fn(&J) -> String + Sync,
    work: impl Fn(&J) -> Result<R> + Sync,
) -> Result<Status>
where
    J: Sync,
    R: Serialize + Send,
    W: Write,
{
    cli::stop_on_interrupt();
    let bar = match opts.progress {
        Some(label) => crate::term::bar(items.len() as u64, label),
        None => indicatif::ProgressBar::hidden(),
    };
    let next = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut status = Status::Done;
    let mut closed = false;
    let mut failed = 0usize;
    // Bounded: workers wait for the printer rather than pile records up.
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<R>)>(64);
    let outcome: Result<()> = std::thread::scope(|s| {
        for _ in 0..workers(items.len(), opts.jobs) {
            let tx = tx.clone();
            let (next, started, stop, work) = (&next, &started, &stop, &work);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) || cli::interrupted() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                started.fetch_add(1, Ordering::SeqCst);
                let result = work(item);
                // Said here, not by the printer: a lone worker must not start
                // the next item before the stop is seen.
                if result.is_err() && opts.fail_fast {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            bar.inc(1);
            match r {
                Ok(_) if closed => {}
                Ok(rec) => match crate::term::suspend(|| printer.print(&rec)) {
                    Ok(()) => {}
                    Err(e) if e.is_broken_pipe() => closed = true,
                    Err(e) => {
                        stop.store(true, Ordering::SeqCst);
                        return Err(e);
                    }
                },
                Err(e) => {
                    cli::report(&e.context(name(&items[i])));
                    status = Status::Partial;
                    failed += 1;
                    // What fails is on the bar too, not only in the lines
                    // above it (which scroll away in a long run).
                    if let Some(label) = opts.progress {
                        bar.set_message(format!("{label}, {failed} failed"));
                    }
                }
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    outcome?;
    match printer.finish() {
        Err(e) if !(closed || e.is_broken_pipe()) => return Err(e),
        _ => {}
    }
    let not_started = items.len() - started.load(Ordering::SeqCst).min(items.len());
    if cli::interrupted() && not_started > 0 {
        return Err(cli::interrupted_error(not_started));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{col, Format, OutputArgs};

    #[test]
    fn workers_never_truncate_to_zero() {
        assert_eq!(workers(65_536, 4), 4);
        assert_eq!(workers(131_072, 256), 256);
        assert_eq!(workers(2, 4), 2);
        assert_eq!(workers(0, 4), 1);
        assert_eq!(workers(usize::MAX, 1), 1);
    }

    #[derive(Serialize)]
    struct Rec {
        n: usize,
    }

    /// Runs odd items to a record, fails even ones; returns the status, the
    /// items run (sorted) and the TSV printed.
    fn go(items: &[usize], jobs: u16, fail_fast: bool) -> (Status, String, String) {
        let mut out = Vec::new();
        let printer = Printer::new(
            &mut out,
            Format::Tsv,
            &OutputArgs::default(),
            &[col("n", 0)],
        )
        .unwrap();
        let opts = Options {
            jobs,
            fail_fast,
            progress: None,
        };
        let ran = std::sync::Mutex::new(Vec::new());
        let status = run(
            items,
            opts,
            printer,
            |n| n.to_string(),
            |&n| {
                ran.lock().unwrap().push(n);
                if n % 2 == 0 {
                    Err(crate::Error::failed("even"))
                } else {
                    Ok(Rec { n })
                }
            },
        )
        .unwrap();
        let mut ran = ran.into_inner().unwrap();
        ran.sort();
        let ran = ran.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        (status, ran.join(","), String::from_utf8(out).unwrap())
    }

    #[test]
    fn every_item_runs_and_a_failure_makes_the_batch_partial() {
        let (status, ran, out) = go(&[1, 3, 5], 1, false);
        assert_eq!(
            (status, ran.as_str(), out.as_str()),
            (Status::Done, "1,3,5", "n\n1\n3\n5\n")
        );
        let (status, ran, out) = go(&[1, 2, 3], 4, false);
        assert_eq!((status, ran.as_str()), (Status::Partial, "1,2,3"));
        assert_eq!(out.lines().count(), 3, "{out}");
        // 65 536 items (a multiple of u16's range) all run, with any -j.
        let many: Vec<usize> = (0..65_536).map(|n| 2 * n + 1).collect();
        let (status, _, out) = go(&many, 4, false);
        assert_eq!((status, out.lines().count()), (Status::Done, 65_537));
    }

    #[test]
    fn fail_fast_stops_after_the_first_failure_in_order() {
        let (status, ran, out) = go(&[1, 2, 3, 5], 1, true);
        assert_eq!(
            (status, ran.as_str(), out.as_str()),
            (Status::Partial, "1,2", "n\n1\n")
        );
    }
}
