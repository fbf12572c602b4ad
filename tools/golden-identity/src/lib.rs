//! `golden-identity`: which instances share an identity (a machine-id, an SSH
//! host key), and an identity of its own for one that does.
//!
//! Instances made from a golden by any route get their own at their first
//! start (golden-create's templates). This is for those made before, or by
//! hand from a golden without them: `incus copy` keeps the source's files.
//!
//! In phases: which instances ([`list`]), what each is ([`golden::identity::seen`]),
//! who shares with whom; or, with `--renew`, the renewal ([`renew`]).

mod list;
mod renew;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::output::{OutputArgs, Printer};
use golden::{Error, Result, Status};

pub use list::{Identity, COLUMNS};
pub use renew::{Renewed, RENEW_COLUMNS};

#[derive(Debug, Parser)]
#[command(
    name = "golden-identity",
    version,
    about = "List the identities of Incus containers, and renew one that is shared",
    long_about = "List each container's identity as other machines tell it apart: its \
        machine-id and the SHA256 fingerprints of its SSH host keys (/etc/ssh/\
        ssh_host_*_key.pub), read through the daemon's files API, and shares: the other \
        instances that hold the same machine-id or one of the same host keys (copies \
        made with incus copy of an instance or of a golden without identity templates, \
        or launched from an image published before). Without NAME, every container of \
        the project (-p) or of all projects; --shared keeps those that share.\n\n\
        With --renew, each NAMEd container gets an identity of its own, as an instance \
        made from a golden by golden-create's templates gets one: the templates are \
        written into its metadata (and, with sshd and systemd, the unit that makes new \
        host keys into its root), Incus is told to render them at its next start, and a \
        running container is stopped and started for it. Its machine-id becomes its \
        volatile.uuid without dashes, its hostname its name, its host keys new ones of \
        the same kinds; its copies will renew theirs too. -n says what would be renewed.\n\n\
        Virtual machines are not listed nor renewed (the files API needs their agent)."
)]
pub struct Args {
    /// Containers ([REMOTE:]NAME); none: all (listing), `-`: read stdin records
    #[arg(value_name = "NAME", add = golden::complete::containers())]
    pub names: Vec<String>,
    /// The Incus project (default: all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    /// Only the containers that share an identity with another instance
    #[arg(long, conflicts_with = "renew")]
    pub shared: bool,
    /// Give each NAMEd container an identity of its own (restarts it if it runs)
    #[arg(long)]
    pub renew: bool,
    #[command(flatten)]
    pub stop: golden::power::StopArgs,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    if args.renew {
        let printer = Printer::stdout(&args.output, RENEW_COLUMNS)?;
        return renew::run(&args, printer);
    }
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    list::run(&args, printer)
}
