//! Man pages and shell completions, generated from the tools' own clap
//! definitions, plus the hand-written sections a man page needs.
//!
//! `cargo run -p xtask -- gen-docs` (or `make man completions`) writes them;
//! xtask's `docs` test fails when the committed ones differ.

use clap::Command;
use roff::{bold, italic, roman, Roff};

/// The tools and their clap commands.
pub fn tools() -> Vec<Command> {
    vec![
        golden_create::command(),
        golden_derive::command(),
        golden_publish::command(),
        golden_ls::command(),
        golden_refresh::command(),
        golden_identity::command(),
        golden_revoke::command(),
        golden_retire::command(),
    ]
}

struct Extra {
    examples: &'static [(&'static str, &'static str)],
    exit: &'static [(&'static str, &'static str)],
}

const EXIT_COMMON: &[(&str, &str)] = &[
    ("0", "Every record was done."),
    (
        "1",
        "At least one record failed (each failure is named on standard error; the others were \
         still done unless --fail-fast), or Incus could not be reached.",
    ),
    ("2", "Bad usage or bad input (an invalid name, a malformed record line, an unknown project): nothing was done."),
    ("130", "Interrupted (SIGINT or SIGTERM): what was under way finished and was printed, nothing new was started."),
];

fn extra(tool: &str) -> Extra {
    match tool {
        "golden-create" => Extra {
            examples: &[
                ("Make the developer template a golden (stopped, then snapshotted):", "golden-create pro-dev"),
                ("Refresh a running template and start it again afterwards:", "golden-create --restart pro-dev"),
                ("Kill what does not stop within 10 seconds:", "golden-create --timeout 10 --force lab-reference"),
                ("Refresh every running golden, the project carried in each record:", "golden-ls -f json | jq -c 'select(.status==\"Running\")' | golden-create"),
                ("See what would be done:", "golden-create -n pro-dev"),
                ("Keep the last five generations of the lab's golden:", "golden-create --keep 5 lab-reference"),
                ("An update broke the guest: the golden back to the generation before:", "golden-create --rollback lab-reference"),
                ("...and its clones refreshed to the bad one back to it:", "golden-ls --clones -f json lab-reference | jq -c 'select(.stale)' | golden-refresh"),
                ("Back to generation 3, named:", "golden-create --rollback=3 lab-reference"),
            ],
            exit: EXIT_COMMON,
        },
        "golden-derive" => Extra {
            examples: &[
                ("One clone per developer:", "golden-derive pro-dev pro-alice pro-bob"),
                ("Twenty student containers, names from a pipe:", "seq -f 'lab-student-%g' 20 | golden-derive lab-reference --project lab"),
                ("The same with xargs:", "seq -f 'lab-student-%g' 20 | xargs golden-derive lab-reference --project lab"),
                ("Two clones of every golden of a project, numbered from the first free number:", "golden-ls --project lab | golden-derive --count 2"),
                ("The same with xargs, one golden at a time (-H: no header):", "golden-ls -H -o instance --project lab | xargs -n1 golden-derive --count 2 --project lab"),
                ("Name them student-1, student-2, ...:", "golden-derive --count 20 --name 'student-{n}' lab-reference"),
                ("A clone named in a golden-ls record, extended with jq:", "golden-ls -f json pro-dev | jq -c '. + {new: \"pro-carol\"}' | golden-derive"),
                ("Finish an interrupted bulk derive:", "seq -f 'lab-student-%g' 20 | golden-derive --skip-existing lab-reference"),
                ("A template with a static address: one address each, from its network:", "golden-derive --ipv4 auto web-tpl web-1 web-2"),
                ("Give each clone its own copy of the template's /data volume:", "golden-derive --volumes copy lab-reference lab-student-1"),
                ("What the clones' identity reset would change, and which identity files the golden holds:", "golden-derive -n -o instance,identity pro-dev pro-alice"),
                ("Clones that keep the template's machine-id, host keys and hostname (a cluster of replicas that must share them):", "golden-derive --keep-identity pro-dev pro-replica"),
                ("In a cluster, twelve clones dealt over the members, one transfer per member:", "golden-derive --spread --count 12 lab-reference --project lab"),
                ("See which member each clone would go to:", "golden-derive -n --spread --count 12 lab-reference --project lab"),
                ("Clones on member m3 (full copies there, unless the pool is shared):", "golden-derive --target m3 lab-reference lab-student-21"),
                ("A clone of generation 2, the one before the last update (golden-ls --generations):", "golden-derive --generation 2 lab-reference lab-before"),
            ],
            exit: EXIT_COMMON,
        },
        "golden-publish" => Extra {
            examples: &[
                ("Publish the developer template as an image:", "golden-publish pro-dev --alias golden-pro"),
                ("Launch an instance from it:", "incus launch golden-pro new-instance --project pro"),
                ("Publish every golden of a project, one alias each:", "golden-ls --project pro | golden-publish --alias 'golden-{instance}'"),
                ("Move the alias to a fresh image after an update:", "golden-create pro-dev && golden-publish --replace pro-dev --alias golden-pro"),
                ("An image of generation 2, the one before the last update (golden-ls --generations):", "golden-publish --generation 2 pro-dev --alias golden-pro-2"),
            ],
            exit: EXIT_COMMON,
        },
        "golden-refresh" => Extra {
            examples: &[
                ("After an update of the template, refresh every stale clone of it:", "golden-ls --clones -f json lab-reference | jq -c 'select(.stale)' | golden-refresh"),
                ("See what would be done:", "golden-ls --clones -f json lab-reference | jq -c 'select(.stale)' | golden-refresh -n"),
                ("One student, killed if it does not stop within 10 seconds:", "golden-refresh --timeout 10 --force lab-student-3 --project lab"),
                ("Finish a run that was interrupted: run it again:", "golden-ls --clones -f json lab-reference | jq -c 'select(.stale)' | golden-refresh"),
                ("A student back as it was before the refresh:", "golden-refresh --restore lab-student-3 --project lab"),
                ("Refresh without keeping the old state, with new machine-ids and host keys:", "golden-refresh --no-keep --new-identity lab-student-3"),
                ("One student back on generation 2 of the template (golden-ls --generations):", "golden-refresh --generation 2 lab-student-3 --project lab"),
            ],
            exit: EXIT_COMMON,
        },
        "golden-revoke" => Extra {
            examples: &[
                ("The pristine just made is bad: no more clones or images of it:", "golden-revoke --reason 'ships CVE-2026-1234' lab-reference"),
                ("An older generation, by number:", "golden-revoke -g 3 --reason 'leaked host key' lab-reference"),
                ("Its clones, to move on:", "golden-ls --clones -f json lab-reference | jq -c 'select(.revoked != \"\")'"),
                ("Every generation older than a date, from golden-ls's records:", "golden-ls --generations -f json | jq -c 'select(.created_at < \"2026-11-01\")' | golden-revoke --reason 'before the key rotation'"),
                ("Lift it:", "golden-revoke --undo -g 3 lab-reference"),
            ],
            exit: EXIT_COMMON,
        },
        "golden-retire" => Extra {
            examples: &[
                ("What depends on a golden, and what retiring it would do:", "golden-retire -n old-lab"),
                ("Retire it, then delete the instance:", "golden-retire old-lab && incus delete old-lab"),
                ("Its clones live on their own; retire it all the same:", "golden-retire --orphan-clones old-lab"),
            ],
            exit: EXIT_COMMON,
        },
        "golden-identity" => Extra {
            examples: &[
                ("The containers that share a machine-id or an SSH host key with another instance:", "golden-identity --shared"),
                ("The identity of two copies made by hand, and whom each shares it with:", "golden-identity --project lab copy-1 copy-2"),
                ("What renewing one would change:", "golden-identity -n --renew copy-2 --project lab"),
                ("Give it a machine-id, host keys and hostname of its own (restarted if it runs):", "golden-identity --renew copy-2 --project lab"),
            ],
            exit: EXIT_COMMON,
        },
        _ => Extra {
            examples: &[
                ("All goldens of all projects:", "golden-ls"),
                ("One project:", "golden-ls --project admin"),
                ("Bare names, for xargs:", "golden-ls -H -o instance --project lab"),
                ("Goldens whose clones came from an older pristine:", "golden-ls -f json | jq -c 'select(.stale > 0)'"),
                ("The clones of pro-dev, one record each, with their template and whether stale:", "golden-ls --clones pro-dev"),
                ("The stale clones of every golden, as records for the next tool:", "golden-ls --clones -f json | jq -c 'select(.stale)'"),
                ("The generations of a golden, with their clones and revocations:", "golden-ls --generations lab-reference"),
                ("A remote, as with incus:", "golden-ls lab-server:"),
                ("In a cluster, the goldens of one member:", "golden-ls -f json | jq -c 'select(.location==\"m2\")'"),
            ],
            exit: &[
                ("0", "The listing was printed."),
                ("1", "A NAME given is not a golden or does not exist (the others were listed), or Incus could not be reached."),
                ("2", "Bad usage: an unknown project or column, an invalid name."),
            ],
        },
    }
}

fn section(roff: &mut Roff, title: &str) {
    roff.control("SH", [title]);
}

fn tagged(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []).text([bold(tag)]).text([roman(text)]);
}

/// golden-derive's IDENTITY section: what is reset, why, and for VMs how.
fn identity_section(roff: &mut Roff) {
    section(roff, "IDENTITY");
    roff.text([roman(
        "Incus gives a copy a new MAC address and volatile.uuid, and never touches its root \
         filesystem by itself: without more, every clone is the template's machine. \
         golden-create writes identity templates into the golden's metadata before it takes \
         the pristine (see golden-create(1)); Incus renders them at the first start \
         of every instance made from the pristine by any route: golden-derive, incus copy \
         of the pristine or of a clone, a copy to another cluster member, incus launch of the \
         image golden-publish made. The golden itself never renders them: it keeps its \
         identity. golden-derive then only copies, and the identity column says what the \
         templates renew (user.golden.renews of the pristine). With --keep-identity, each copy's \
         template trigger is replaced by one no template answers, so it boots as the template.",
    )]);
    roff.control("PP", []).text([roman(
        "A pristine without these templates (made by hand, or by an older golden-create) is \
         reset by golden-derive itself, in each new container before it is ever started, \
         through the daemon's files API only (reads, writes with owner and mode, removals); the \
         template and its pristine are never written. The identity column then says what was \
         reset: machine-id,ssh-host-keys,hostname,dhcp-leases,random-seed, or - for nothing; \
         with -n, what would be, and a notice lists the identity files the golden holds:",
    )]);
    tagged(roff, "machine-id", "/etc/machine-id holding an id gets a new random one (journald, D-Bus, and systemd-networkd's DHCP client id derive from it: clones sharing it get one address). Empty or `uninitialized` is left: systemd makes one at first boot. /var/lib/dbus/machine-id gets the same new id when it is a file; a symlink is left.");
    tagged(roff, "ssh-host-keys", "Each /etc/ssh/ssh_host_*_key is replaced by a fresh key of the same kind (ed25519, ECDSA of the same curve, RSA of the same size), made in golden-derive itself, comment root@CLONE, owner kept, mode 0600, and its .pub 0644: no clone can pass for another. A key of a kind not made (DSA) is removed. RSA keys are slow to make (about a second of CPU each for 3072 bits): they are made on every core from the start of the run, while the daemon copies.");
    tagged(roff, "hostname", "/etc/hostname holding the template's name gets the clone's; in /etc/hosts the template's name as a whole word becomes the clone's. A file naming something else is left.");
    tagged(roff, "dhcp-leases", "Leases of dhclient (/var/lib/dhcp, /var/lib/dhclient), systemd-networkd (/run/systemd/netif/leases), NetworkManager (/var/lib/NetworkManager/*.lease) and dhcpcd (/var/lib/dhcpcd, /var/db/dhcpcd, with its duid) are removed: a clone would ask for the template's address.");
    tagged(roff, "random-seed", "/var/lib/systemd/random-seed is removed: clones would start their entropy pool from the same seed.");
    roff.control("PP", []).text([roman(
        "A clone whose reset fails is removed, and its record fails with the reason (the others \
         go on; exit 1). --keep-identity keeps everything as copied. Each clone records what \
         was reset in user.golden.identity, `pending` from its copy until its reset is done: \
         --skip-existing finishes the reset of a clone a killed run left pending, if it was \
         never started (golden-refresh gives such a clone an identity of its own too). A \
         remote reached through \
         `incus query` cannot carry files: golden-derive refuses before any copy, unless \
         --keep-identity. Virtual machines: the files API needs the VM agent, which runs only \
         once a VM is started; their identity is not reset (a notice, and not-reset:vm in the \
         column). Reset it at first boot instead, for instance with cloud-init, or with `rm -f \
         /etc/machine-id /var/lib/dbus/machine-id /etc/ssh/ssh_host_*; systemd-machine-id-setup; \
         ssh-keygen -A; hostnamectl set-hostname NAME` run once.",
    )]);
}

/// The tables a tool prints (what they are, when it has two) and their columns.
fn tables(tool: &str) -> Vec<(&'static str, &'static [golden::output::Column])> {
    match tool {
        "golden-create" => vec![("", golden_create::COLUMNS)],
        "golden-derive" => vec![("", golden_derive::COLUMNS)],
        "golden-publish" => vec![("", golden_publish::COLUMNS)],
        "golden-ls" => vec![
            (" of goldens", golden_ls::COLUMNS),
            (" of clones (--clones)", golden_ls::CLONE_COLUMNS),
            (" of kept things (--kept)", golden_ls::KEPT_COLUMNS),
            (
                " of generations (--generations)",
                golden_ls::GENERATION_COLUMNS,
            ),
        ],
        "golden-revoke" => vec![("", golden_revoke::COLUMNS)],
        "golden-retire" => vec![("", golden_retire::COLUMNS)],
        "golden-refresh" => vec![("", golden_refresh::COLUMNS)],
        "golden-identity" => vec![
            ("", golden_identity::COLUMNS),
            (" of --renew", golden_identity::RENEW_COLUMNS),
        ],
        _ => Vec::new(),
    }
}

/// golden-refresh's KEPT STATE section: what is kept, where, how to go back.
fn refresh_section(roff: &mut Roff) {
    section(roff, "HOW A CLONE IS REFRESHED");
    roff.text([roman(
        "Each clone is stopped (cleanly within --timeout, or killed with --force), copied as it is \
         to CLONE-pre-refresh (a CoW copy on btrfs, ZFS, thin LVM and Ceph pools, on the clone's \
         cluster member, with the clone's snapshots), and rebuilt by the daemon from an image of \
         its template's current pristine (made once per pristine and project, uncompressed, \
         without alias, removed when no clone needs it). The rebuild keeps the instance itself: \
         name, project, member, profiles, config keys, devices, MAC addresses, volatile.uuid. Its \
         identity is then carried from the kept copy: /etc/machine-id and /var/lib/dbus/machine-id, \
         /etc/ssh/ssh_host_* (so known_hosts stays valid), /etc/hostname; /etc/hosts names the \
         clone; the template's DHCP leases and random seed are removed. Its provenance \
         (user.golden.created_at) is updated, and a clone that ran is started again.",
    )]);
    tagged(roff, "CLONE-pre-refresh", "The state before the last refresh, kept stopped, replaced at the next refresh, never counted as a clone (user.golden.pre-refresh-of names the clone). It has MAC addresses of its own and no static address (the clone could not start beside them), boot.autostart false and none of the clone's custom volumes (it must not start by accident beside the clone nor write its data): the clone's are kept in its user.golden.hwaddr.NIC, user.golden.device.DEV.* and user.golden.autostart keys. --no-keep removes it once the clone is refreshed (refused for a clone with snapshots, which move there).");
    tagged(roff, "--restore", "Puts the clone back from CLONE-pre-refresh: the refreshed clone is removed, the copy is renamed to the clone's name and gets its MAC and static addresses, custom volumes and autostart back, and runs again if the clone ran. By hand: incus delete --force CLONE; incus rename CLONE-pre-refresh CLONE; then set volatile.eth0.hwaddr and the NIC's ipv4.address from the user.golden.* keys above, and unset them and user.golden.pre-refresh-of.");
    tagged(roff, "Disk", "Refreshed clones share their blocks with each other (the unpacked image, on btrfs, ZFS, thin LVM and Ceph pools), no longer with the template's pristine: the pool holds about one more root per pristine refreshed from, as long as clones of it remain. The image itself is removed at the end of the run once no clone needs it.");
    tagged(roff, "Interrupted", "A run killed at any point leaves every clone usable, old or new: user.golden.refresh.restart and user.golden.refresh.from mark a refresh under way, and a rerun finishes it.");
}

/// The man page of one tool: clap's sections, then ours.
pub fn man_page(cmd: &Command) -> Vec<u8> {
    let name = cmd.get_name().to_string();
    let man = clap_mangen::Man::new(cmd.clone())
        .date("2026-11-25")
        .manual("golden")
        .source("golden");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();

    let ex = extra(&name);
    let mut roff = Roff::new();
    section(&mut roff, "RECORDS");
    if name == "golden-ls" {
        roff.text([roman(
            "golden-ls reads no standard input: it lists what Incus holds, NAME arguments narrowing \
             it. Output records go to standard output: a table on a terminal, TSV with a header in \
             a pipe, or NDJSON with -f json, ready for the other tools' standard input; messages go \
             to standard error. A closed standard output ends it quietly.",
        )]);
    } else {
        roff.text([roman(
        "Without NAME arguments (or with the single argument -) and with standard input not a terminal, \
         records are read from standard input, one a line: NDJSON objects, TSV whose first line names \
         the columns (what golden-ls prints), or bare names. The project travels in the record. A \
         malformed line is an error naming its line number, and nothing is done. Output records go to \
         standard output: a table on a terminal, TSV with a header in a pipe, or NDJSON with -f json; \
         messages go to standard error. A closed standard output ends the tool quietly.",
        )]);
    }
    for (what, columns) in tables(&name) {
        let (out, kept) = golden::output::narrow(columns);
        roff.control("PP", []).text([roman(format!(
            "On a terminal too narrow for the whole table{what}, the columns left out are, first \
             to last: {}; {} always {} (the widest cells shortened if need be). -o names \
             columns that are all printed whole; TSV and JSON carry every column.",
            out.join(", "),
            kept.join(" and "),
            if kept.len() == 1 { "stays" } else { "stay" }
        ))]);
    }
    if name == "golden-derive" {
        identity_section(&mut roff);
    }
    if name == "golden-refresh" {
        refresh_section(&mut roff);
    }
    section(&mut roff, "EXAMPLES");
    for (what, cmdline) in ex.examples {
        roff.control("PP", []).text([roman(*what)]);
        roff.control("RS", ["4"])
            .control("nf", [])
            .text([bold(*cmdline)])
            .control("fi", [])
            .control("RE", []);
    }
    section(&mut roff, "EXIT STATUS");
    for (code, text) in ex.exit {
        tagged(&mut roff, code, text);
    }
    section(&mut roff, "ENVIRONMENT");
    tagged(
        &mut roff,
        "INCUS_SOCKET, INCUS_DIR",
        "Where the local daemon's socket is, as incus(1) finds it: a local remote's unix: address, \
         else INCUS_SOCKET, else $INCUS_DIR/unix.socket, else /run/incus/unix.socket if it exists, \
         else /var/lib/incus/unix.socket (unix.socket.user, in project user-UID, when only that one \
         is writable). The tools speak the Incus API themselves: no incus binary is needed.",
    );
    tagged(
        &mut roff,
        "INCUS_CONF",
        "The incus client's configuration directory (config.yml: remotes, the default remote; \
         client and pinned server certificates), else ~/.config/incus. A remote the tools do not \
         speak (OIDC, behind a proxy) goes through incus query when incus(1) is installed; else its \
         error names the remote and why.",
    );
    tagged(
        &mut roff,
        "INCUS_PROJECT",
        "Not used: the golden tools find each instance's project themselves, or take --project.",
    );
    tagged(
        &mut roff,
        "INCUS_REMOTE",
        "The remote used for names without a REMOTE: part, as with incus(1).",
    );
    tagged(
        &mut roff,
        "COLUMNS",
        "The width a table fits in when standard output is not a terminal (a terminal's own \
         width comes first, as with ls(1)); unset or 0: no limit.",
    );
    tagged(
        &mut roff,
        "GOLDEN_TIMEOUT",
        "Seconds a plain request to Incus may take before the tool gives up (default 30).",
    );
    tagged(
        &mut roff,
        "GOLDEN_LOCK_TIMEOUT",
        "Seconds golden-create and golden-refresh wait for another run on the same instance to end \
         (default 600). Its lock files are in $XDG_RUNTIME_DIR/golden-locks, or else in \
         $TMPDIR/golden-locks-UID (made 0700; a directory not private to you is refused).",
    );
    tagged(
        &mut roff,
        "GOLDEN_TRACE",
        "When set, every request to Incus is written to standard error with its duration.",
    );
    tagged(
        &mut roff,
        "COMPLETE",
        "Set by the shell's completion script: the tool then completes the command line it is \
         given and exits. COMPLETE=bash (zsh, fish) alone prints that shell's script, the one \
         make install puts where bash-completion, zsh and fish look. See golden(7), COMPLETION.",
    );
    tagged(
        &mut roff,
        "GOLDEN_COMPLETE_TIMEOUT",
        "Seconds a completion waits for Incus (default 2): a daemon that has not answered by \
         then completes nothing, and nothing is printed.",
    );
    section(&mut roff, "FILES");
    tagged(
        &mut roff,
        "~/.config/incus/",
        "The incus client configuration used for every request (see INCUS_CONF); \
         /etc/incus/config.yml adds the remotes it lacks.",
    );
    section(&mut roff, "NOTES");
    roff.text([roman(if name == "golden-refresh" {
        "Virtual machines are refused: a refresh carries the clone's identity through the \
         daemon's files API, which needs the VM agent, running only once a VM is started. The \
         test suite runs containers only."
    } else {
        "Virtual machines are handled like containers: their pristine is taken stopped, and their \
         clones are made by the same copy operation. The test suite runs containers only."
    })]);
    section(&mut roff, "SEE ALSO");
    let others: Vec<String> = tools()
        .iter()
        .map(|t| t.get_name().to_string())
        .filter(|t| *t != name)
        .map(|t| format!("{t}(1)"))
        .collect();
    roff.text([roman(format!("{}, golden(7), incus(1)", others.join(", ")))]);
    out.extend_from_slice(roff.to_roff().as_bytes());
    man.render_version_section(&mut out).unwrap();
    out
}

/// golden(7): the model and the workflows.
pub fn overview_page() -> Vec<u8> {
    let mut r = Roff::new();
    r.control("TH", ["GOLDEN", "7", "2026-11-25", "golden", "golden"]);
    section(&mut r, "NAME");
    r.text([roman(
        // The roff crate escapes the dash itself: a backslash here would print.
        "golden - golden images on Incus: templates cloned in seconds",
    )]);
    section(&mut r, "DESCRIPTION");
    r.text([roman(
        "A golden is an Incus instance (container or virtual machine) with a snapshot named ",
    ), italic("pristine"), roman(
        ". New instances are derived from that snapshot by the daemon's own copy, which shares blocks \
         with the template on btrfs, ZFS, thin LVM and Ceph pools (a full copy on dir). Eight tools, one \
         job each, compose through pipes:",
    )]);
    tagged(
        &mut r,
        "golden-create NAME...",
        "stop the instance and (re)make pristine, safely",
    );
    tagged(
        &mut r,
        "golden-derive TEMPLATE NEW...",
        "new instances from TEMPLATE/pristine, many at once",
    );
    tagged(
        &mut r,
        "golden-publish NAME --alias A",
        "turn pristine into a reusable Incus image",
    );
    tagged(
        &mut r,
        "golden-ls [NAME...]",
        "list goldens, with clone counts and staleness (--clones: one record per clone)",
    );
    tagged(
        &mut r,
        "golden-refresh [CLONE...]",
        "rebuild stale clones in place from the new pristine, keeping what makes each one itself",
    );
    tagged(
        &mut r,
        "golden-revoke NAME",
        "mark a generation of a golden as known bad: derive and publish refuse it, golden-ls names its clones",
    );
    tagged(
        &mut r,
        "golden-retire NAME",
        "make a golden an ordinary instance again, once no clone depends on it",
    );
    tagged(
        &mut r,
        "golden-identity [NAME...]",
        "list containers' machine-ids and SSH host keys and who shares them; --renew gives one its own",
    );
    section(&mut r, "WORKFLOWS");
    let flows: &[(&str, &[&str])] = &[
        (
            "A development template, one clone per developer:",
            &[
                "incus exec pro-dev --project pro -- apt install -y vim tmux git",
                "golden-create pro-dev",
                "golden-derive pro-dev pro-alice pro-bob",
            ],
        ),
        (
            "A lab of twenty students:",
            &[
                "golden-create lab-reference",
                "seq -f 'lab-student-%g' 20 | golden-derive lab-reference",
            ],
        ),
        (
            "The update cycle:",
            &[
                "incus start pro-dev --project pro",
                "incus exec pro-dev --project pro -- sh -c 'apt update && apt upgrade -y'",
                "golden-create pro-dev",
                "golden-ls -f json | jq -c 'select(.stale > 0)'",
                "golden-ls --clones pro-dev",
                "golden-ls --clones -f json pro-dev | jq -c 'select(.stale)' | golden-refresh",
            ],
        ),
    ];
    for (what, lines) in flows {
        r.control("PP", []).text([roman(*what)]);
        r.control("RS", ["4"]).control("nf", []);
        for l in *lines {
            r.text([bold(*l)]);
        }
        r.control("fi", []).control("RE", []);
    }
    section(&mut r, "COMPLETION");
    r.text([roman(
        "make install puts the tools' completion scripts where bash-completion, zsh (site-functions) \
         and fish (vendor_completions.d) load them. Elsewhere, add source <(COMPLETE=bash golden-ls) \
         to ~/.bashrc (COMPLETE=zsh to ~/.zshrc; in fish, COMPLETE=fish golden-ls | source), once \
         per tool. Options and their fixed values complete from the tools' own parsers; golden \
         names (golden-derive, golden-publish, golden-ls), clone names (golden-refresh), \
         instances (golden-create), containers (golden-identity), projects, storage pools, cluster \
         members, image aliases and REMOTE: prefixes from the daemon the command would use: the \
         remote a name gives, in --project's project or else in all. A daemon that does not answer \
         within GOLDEN_COMPLETE_TIMEOUT seconds (default 2) completes nothing, silently.",
    )]);
    section(&mut r, "TROUBLESHOOTING");
    tagged(&mut r, "Instance not found", "The tools look in every project; a name in two projects needs --project. Check with incus list --all-projects.");
    tagged(&mut r, "Wrong network configuration in a clone", "golden-derive refuses clones whose NIC, from the pristine snapshot or from a --profile, has a static address unless given --ipv4 ADDR (refused if any NIC on the network holds it, or it is the subnet's own), --ipv4 auto or --dhcp.");
    tagged(&mut r, "Full copy instead of CoW", "golden-derive says so on standard error and in the cow column; golden-ls shows cow per golden. Only btrfs, ZFS, thin LVM and Ceph pools share blocks.");
    tagged(
        &mut r,
        "Publishing fails with snapshot not found",
        "Run golden-create NAME first: golden-publish says so itself.",
    );
    section(&mut r, "SEE ALSO");
    r.text([roman(
        "golden-create(1), golden-derive(1), golden-publish(1), golden-ls(1), golden-refresh(1), \
         golden-identity(1), golden-revoke(1), golden-retire(1), incus(1)",
    )]);
    r.to_roff().into_bytes()
}

/// (file name, contents) of every completion script: the tool's own
/// registration for each shell (what `COMPLETE=bash golden-ls` prints when run
/// from PATH), which calls the tool back at each TAB (see golden::complete).
pub fn completions() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for cmd in tools() {
        let name = cmd.get_name().to_string();
        for (shell, file) in [
            ("bash", format!("{name}.bash")),
            ("zsh", format!("_{name}")),
            ("fish", format!("{name}.fish")),
        ] {
            let script = golden::complete::registration(shell, &name)
                .expect("clap_complete knows bash, zsh and fish");
            out.push((file, script));
        }
    }
    out
}

/// (file name, contents) of every man page.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = tools()
        .iter()
        .map(|c| (format!("{}.1", c.get_name()), man_page(c)))
        .collect();
    out.push(("golden.7".to_string(), overview_page()));
    out
}
