//! The command line: what clap parses, and what the man page and the
//! completions are made from (`cargo run -p xtask -- gen-docs`). Nothing here
//! is checked: [`crate::options`] does that.

use clap::Parser;
use golden::output::OutputArgs;

#[derive(Debug, Parser)]
#[command(
    name = "golden-publish",
    version,
    about = "Publish a golden's pristine snapshot as an Incus image with an alias",
    long_about = "Publish NAME/pristine as an Incus image, through the daemon's own image \
        operation, and point ALIAS at it. Image properties record where it came from \
        (golden.project, golden.instance, golden.created_at). An alias that already names an \
        image is refused unless --replace: then the new image is made first, the alias moved \
        to it, and the old image deleted if no other alias names it.\n\n\
        The alias may hold {field} parts filled from each record, such as 'golden-{instance}', \
        so `golden-ls | golden-publish --alias 'golden-{instance}'` publishes every golden. \
        An image holds the root disk only: attached custom volumes are not part of it."
)]
pub struct Args {
    /// Goldens to publish ([REMOTE:]NAME); none or `-`: read stdin
    #[arg(value_name = "NAME", add = golden::complete::goldens())]
    pub names: Vec<String>,
    /// Alias of the image; {field} is filled from the record (e.g. golden-{instance})
    #[arg(short = 'a', long, value_name = "ALIAS", required = true, add = golden::complete::aliases())]
    pub alias: String,
    /// The Incus project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    /// Move an alias that already names an image to the new one
    #[arg(long)]
    pub replace: bool,
    /// Publish generation N of the golden (golden-ls --generations) instead of its current pristine
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub generation: Option<u64>,
    /// Publish a pristine whose generation is revoked (golden-revoke) all the same
    #[arg(long)]
    pub allow_revoked: bool,
    /// Make the image public (others may download it without trust)
    #[arg(long)]
    pub public: bool,
    /// When the image expires: a duration from now (30d, 12h) or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}
