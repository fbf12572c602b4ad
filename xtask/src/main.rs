//! `cargo run -p xtask -- gen-docs|bench`: see the library's documentation.

mod bench;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -p xtask -- gen-docs|bench|bench-cluster
  gen-docs  write man/ and completions/ from the tools' clap definitions
  bench     measure the tools against plain incus on the private Incus (BENCH_FULL=1: larger sizes)
  bench-cluster  measure placement on the private 3-member cluster (tests/cluster.sh)";

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes man/ and completions/.
fn gen_docs() -> std::io::Result<()> {
    for (dir, files) in [
        ("man", xtask::docs::man_pages()),
        ("completions", xtask::docs::completions()),
    ] {
        let dir = root().join(dir);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["gen-docs"] => match gen_docs() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xtask gen-docs: {e}");
                ExitCode::FAILURE
            }
        },
        ["bench"] => {
            bench::run();
            ExitCode::SUCCESS
        }
        ["bench-cluster"] => {
            bench::cluster::run();
            ExitCode::SUCCESS
        }
        ["-h"] | ["--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
