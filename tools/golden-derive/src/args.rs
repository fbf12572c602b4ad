//! The command line: what clap parses, and what the man page and the
//! completions are made from (`cargo run -p xtask -- gen-docs`). Nothing here
//! is checked: [`crate::options`] turns it into what the phases use.

use clap::{Parser, ValueEnum};
use golden::output::OutputArgs;

/// What to do with custom volumes attached to the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Volumes {
    /// Copy each volume's pristine snapshot to a new volume of the clone's own
    Copy,
    /// Keep the template's volumes attached to every clone (shared data)
    Share,
    /// Remove the volume devices from the clones
    Drop,
}

#[derive(Debug, Parser)]
#[command(
    name = "golden-derive",
    version,
    about = "Create instances from a golden's pristine snapshot",
    long_about = "Create one or many instances NEW from TEMPLATE/pristine, in parallel, \
        through the daemon's own copy (CoW on btrfs, ZFS and thin LVM). The clones stay \
        on the template's pool unless -s is given; a copy that cannot share blocks says \
        so on stderr and in the cow column. Each clone records where it came from in \
        user.golden.* config keys, which golden-ls counts as derived and stale.\n\n\
        Settings meant for the golden stay on it: a clone gets none of the golden's \
        snapshots.schedule, snapshots.schedule.stopped, snapshots.pattern, \
        snapshots.expiry, security.protection.delete and boot.autostart (an incus copy \
        would give each clone the golden's snapshot schedule, its protection, its start at \
        boot). A setting meant for the clones is kept on the golden as \
        user.golden.clone.KEY=VALUE, and each clone gets KEY=VALUE; -c KEY=VALUE gives \
        the clones of one run their own.\n\n\
        A golden that gets clones is protected from deletion by Incus itself \
        (security.protection.delete=true, set before the first copy, said once in a \
        notice): incus delete of it is refused while clones depend on it, as Proxmox \
        refuses to delete a template with linked clones. Retiring it is a deliberate \
        act: golden-ls --clones NAME lists what depends on it, incus config unset NAME \
        security.protection.delete lifts the protection. -n protects nothing.\n\n\
        Everything is checked before the first copy, on what the clones will really get: \
        the pristine snapshot's devices with the profiles they will have (static addresses, \
        attached volumes, a root disk), -c and --profile (judged by Incus itself), and \
        --ipv4 addresses (free on the network in every project; concurrent runs never \
        give one twice). Each clone names the snapshot it was really copied from: a \
        golden-create running meanwhile waits for the copies under way to rename it.\n\n\
        Each new container is a machine of its own from its first start: the identity \
        templates golden-create put in the pristine make Incus render its own machine-id \
        (its volatile.uuid), hostname and empty DHCP leases, and a unit in the guest make \
        new SSH host keys before sshd starts; golden-derive only copies. A pristine without \
        them (made by hand, or by an older golden-create) gets each clone reset through the \
        daemon's files API before it is ever started. --keep-identity keeps everything as \
        copied. See IDENTITY.\n\n\
        In a cluster, each clone lands on its template's member, so that it stays CoW; \
        --target MEMBER puts them on that member (a full copy over the network, on storage of \
        each member's own: cow is false and a notice says so; a shared pool such as Ceph \
        stays CoW); --spread deals them round-robin over the members that are online and have \
        the pool, starting with the template's, paying one transfer per member: the first \
        clone there is a full copy, the others CoW copies of it (made before anything starts \
        it; with --start each is a full copy). A copy to another member carries the pristine's \
        architecture, config, devices and profiles. The location column names the member \
        (the planned one with -n). Clones aimed at an offline member are refused, each \
        naming it; the others are made.\n\n\
        With --count N, N clones of each template are named by --name (default \
        {template}-{n}, n counting from the first free number).\n\n\
        Without NEW (or with -), the new names are read from stdin: bare names, or records \
        with a `new` (or `instance`) field. Without TEMPLATE too, each record names its \
        template in `template`, or else in `instance` (a golden-ls record), and its clone \
        in `new`, or --count numbers them: `golden-ls | golden-derive --count 2`."
)]
pub struct Args {
    /// The golden to derive from ([REMOTE:]NAME)
    #[arg(value_name = "TEMPLATE", add = golden::complete::goldens())]
    pub template: Option<String>,
    /// Names of the new instances; none or `-`: read stdin
    #[arg(value_name = "NEW")]
    pub new: Vec<String>,
    /// Make N clones of each template, named by --name
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Name pattern for --count: {template}, {project}, {n} (first free numbers)
    #[arg(long, value_name = "PATTERN", requires = "count")]
    pub name: Option<String>,
    /// The template's project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    /// Create the clones in this project (default: the template's)
    #[arg(long, value_name = "PROJECT", add = golden::complete::projects())]
    pub target_project: Option<String>,
    /// Cluster member for the clones (default: the template's, which keeps them CoW)
    #[arg(long, value_name = "MEMBER", conflicts_with = "spread", add = golden::complete::members())]
    pub target: Option<String>,
    /// Deal the clones round-robin over the cluster members that are online and have the pool
    #[arg(long)]
    pub spread: bool,
    /// Storage pool for the clones (default: the template's, which allows CoW)
    #[arg(short = 's', long = "storage", value_name = "POOL", add = golden::complete::pools())]
    pub storage: Option<String>,
    /// Copies run at once
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Start each clone once made
    #[arg(long)]
    pub start: bool,
    /// Config for the clones (repeatable)
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Profiles for the clones instead of the template's (repeatable)
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// A NEW name that exists and came from this template is reported, not an error
    #[arg(long)]
    pub skip_existing: bool,
    /// Static IPv4 address for the clone (one clone), or `auto`: the next free one of its network
    #[arg(long, value_name = "ADDR|auto", conflicts_with = "dhcp")]
    pub ipv4: Option<String>,
    /// Drop the template's static addresses from the clones
    #[arg(long)]
    pub dhcp: bool,
    /// What to do with custom volumes attached to the template
    #[arg(long, value_enum, value_name = "HOW")]
    pub volumes: Option<Volumes>,
    /// Keep the template's machine-id, SSH host keys, hostname, leases and seed in the clones
    #[arg(long)]
    pub keep_identity: bool,
    /// Copy generation N of the template (golden-ls --generations) instead of its current pristine
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub generation: Option<u64>,
    /// Derive from a pristine whose generation is revoked (golden-revoke) all the same
    #[arg(long)]
    pub allow_revoked: bool,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}
